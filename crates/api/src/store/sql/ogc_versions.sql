-- Layer versions with their kind's Chinese name, per kind and jurisdiction newest first. Every
-- filter is off when its parameter is null: $1 one version's id; $2 kind; $3 jurisdiction;
-- $4 version number; $5 (not null) current versions only when true.
select v.id,
       v.kind,
       k.name_zh as kind_name,
       v.jurisdiction,
       v.version_no,
       v.is_current,
       v.feature_count,
       v.imported_at,
       v.superseded_at,
       v.source_name,
       v.extent
from layer_versions v
join layer_kinds k on k.code = v.kind
where ($1::uuid is null or v.id = $1)
  and ($2::text is null or v.kind = $2)
  and ($3::text is null or v.jurisdiction = $3)
  and ($4::int4 is null or v.version_no = $4)
  and (not $5::bool or v.is_current)
order by v.kind, v.jurisdiction, v.version_no desc
