-- Reference data `landuse seed` loads beside the counties, calendar and time limits: the land
-- classes of the third land survey (DLBM codes a check may report) and, on the layer kinds that
-- 0002 created, the names the layers usually go by and the result an overlap gives.
--
-- The result per kind is decided in the domain crate (check::layer_verdict); the column states
-- it for readers of the database and the catalogue, and a test keeps the two the same. The
-- numbers of the verdicts (sliver thresholds, geohazard buffer) are the `verdict_rules` setting.

create table land_classes (
    code text primary key,
    name_zh text not null,
    -- first-level class: 耕地, 种植园用地, 林地, 草地, …
    category text not null,
    -- whether a check counts it as cultivated land (needs farmland offset)
    cultivated boolean not null default false,
    constraint land_classes_code_format check (code ~ '^[0-9]{4}[A-Z]?$')
);

alter table layer_kinds
    add column common_layer_names text[] not null default '{}',
    add column overlap_result text not null default 'ok',
    -- when the result is milder than overlap_result (a declared activity, a qualifying project)
    add column exception text not null default '',
    add constraint layer_kinds_overlap_result_known check (overlap_result in (
        'ok', 'warning', 'needs_review', 'needs_offset', 'needs_overlay_approval', 'outside_boundary',
        'needs_approval', 'needs_state_council_approval', 'prohibited'));
