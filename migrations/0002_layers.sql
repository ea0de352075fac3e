-- Control layers for the spatial check: the kinds, their versions (every import is a new one,
-- and one per kind and jurisdiction is current), the features as imported, and a subdivided copy
-- of each feature that checks intersect instead of the huge authoritative polygons.
--
-- Geometry is validated in Rust before it gets here and bound as WKB with SRID 4490 set
-- explicitly; nothing in the database repairs it (ST_MakeValid on client geometry crashed the
-- backend inside GEOS 3.11).

create table layer_kinds (
    code text primary key,
    name_zh text not null,
    -- what the import takes: polygons only, or polygons and points (geohazard sites)
    geometry_class text not null,
    constraint layer_kinds_geometry_class_known check (geometry_class in ('polygons', 'polygons_or_points'))
);

insert into layer_kinds (code, name_zh, geometry_class) values
    ('permanent_farmland', '永久基本农田', 'polygons'),
    ('ecological_redline', '生态保护红线', 'polygons'),
    ('urban_boundary', '城镇开发边界', 'polygons'),
    ('cultivated_land', '耕地', 'polygons'),
    ('qinling_core', '秦岭核心保护区', 'polygons'),
    ('qinling_key', '秦岭重点保护区', 'polygons'),
    ('qinling_general', '秦岭一般保护区', 'polygons'),
    ('nature_reserve_core', '自然保护地核心区', 'polygons'),
    ('nature_reserve_general', '自然保护地一般控制区', 'polygons'),
    ('geohazard', '地质灾害隐患点', 'polygons_or_points'),
    ('mineral_deposit', '重要矿产资源', 'polygons'),
    ('mineral_whitelist', '压覆矿产白名单', 'polygons');

-- One row per import. A version whose jurisdiction is a city (610900) or province (610000) code
-- covers every county in it: a check for county C uses, per kind, the current versions of C,
-- of C's city (first 4 digits || '00') and of C's province (first 2 digits || '0000').
create table layer_versions (
    id uuid primary key,
    kind text not null references layer_kinds (code),
    jurisdiction text not null,
    version_no integer not null,
    is_current boolean not null default false,
    source_name text not null,
    -- the CRS the source file was in (4490 for RFC 7946 GeoJSON)
    source_srid integer not null default 4490,
    feature_count integer not null default 0,
    piece_count integer not null default 0,
    imported_at timestamptz not null default now(),
    imported_by uuid,
    superseded_at timestamptz,
    -- the import report: features read, written, skipped, refused with reason
    import_report jsonb not null default '{}',
    constraint layer_versions_jurisdiction_format check (jurisdiction ~ '^[0-9]{6}$'),
    constraint layer_versions_version_no_positive check (version_no > 0),
    constraint layer_versions_counts_nonnegative check (feature_count >= 0 and piece_count >= 0),
    constraint layer_versions_kind_jurisdiction_no_unique unique (kind, jurisdiction, version_no)
);
create unique index layer_versions_one_current on layer_versions (kind, jurisdiction) where is_current;

-- Features exactly as imported (authoritative: never simplified). Polygons are stored as
-- MultiPolygon; geohazard sites may be points.
create table layer_features (
    id bigint generated always as identity primary key,
    version_id uuid not null references layer_versions (id),
    -- position in the source file, 0-based
    ordinal integer not null,
    source_id text,
    attributes jsonb not null default '{}',
    geom geometry(Geometry, 4490) not null,
    constraint layer_features_geom_type check (geometrytype(geom) in ('MULTIPOLYGON', 'POINT')),
    constraint layer_features_version_ordinal_unique unique (version_id, ordinal)
);
create index layer_features_geom on layer_features using gist (geom);

-- ST_Subdivide pieces of every feature (at most a few hundred vertices each), so that a check
-- against a 100,000-vertex farmland polygon touches only the pieces near the parcel.
create table layer_pieces (
    id bigint generated always as identity primary key,
    feature_id bigint not null references layer_features (id),
    version_id uuid not null references layer_versions (id),
    geom geometry(Geometry, 4490) not null,
    constraint layer_pieces_geom_type check (geometrytype(geom) in ('POLYGON', 'MULTIPOLYGON', 'POINT'))
);
create index layer_pieces_geom on layer_pieces using gist (geom);
create index layer_pieces_feature on layer_pieces (feature_id);
