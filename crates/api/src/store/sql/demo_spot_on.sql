-- A point on a feature of the current layer of kind $1, away (about 200 m, 0.002°) from every
-- current feature of the kinds $2 and, when $3, from the urban boundary; lowest feature id first.
with spots as (
    select f.id, st_pointonsurface(f.geom) as p
      from layer_features f
      join layer_versions v on v.id = f.version_id
     where v.is_current and v.kind = $1
)
select st_x(s.p) as lon, st_y(s.p) as lat
  from spots s
 where not exists (
        select 1
          from layer_features g
          join layer_versions w on w.id = g.version_id
         where w.is_current
           and (w.kind = any($2) or ($3 and w.kind = 'urban_boundary'))
           and st_dwithin(g.geom, s.p, 0.002))
 order by s.id
 limit 1
