-- The lon/lat box and the run time span of the check overlaps of counties $1 (null: all).
select st_xmin(e)::float8 as xmin, st_ymin(e)::float8 as ymin,
       st_xmax(e)::float8 as xmax, st_ymax(e)::float8 as ymax,
       first_at, last_at
from (select st_extent(h.geom) as e, min(k.run_at) as first_at, max(k.run_at) as last_at
        from check_hits h join checks k on k.id = h.check_id join cases c on c.id = k.case_id
       where h.geom is not null and ($1::text[] is null or c.county_code = any($1))) t
