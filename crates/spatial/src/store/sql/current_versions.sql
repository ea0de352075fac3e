-- The current versions that cover a county: its own, its city's and its province's.
select id, kind, jurisdiction, version_no, is_current, source_name, source_srid,
       feature_count, piece_count, imported_at, imported_by, superseded_at
from layer_versions
where is_current and jurisdiction = any($1::text[])
order by kind, jurisdiction
