-- The subdivided copy that checks intersect. Points subdivide to themselves.
insert into layer_pieces (feature_id, version_id, geom)
select f.id, f.version_id, st_subdivide(f.geom, $2)
from layer_features f
where f.version_id = $1
