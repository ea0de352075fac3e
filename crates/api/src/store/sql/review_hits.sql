-- Every hit of a check, with its overlap as GeoJSON for the page and as WKB for the report,
-- and who dismissed it. $1: the check.
select h.id, h.layer_kind, h.hit_index, h.feature_id, h.overlap_m2, h.attributes,
       h.dismissed_at, du.name as dismissed_by, h.dismiss_reason,
       st_asgeojson(h.geom, 7) as geojson, st_asbinary(h.geom) as wkb
  from check_hits h
  left join users du on du.id = h.dismissed_by
 where h.check_id = $1
 order by h.layer_kind, h.hit_index
