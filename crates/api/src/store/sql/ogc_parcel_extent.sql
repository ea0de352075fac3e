-- The lon/lat box and the upload time span of the parcels of counties $1 (null: all).
select st_xmin(e)::float8 as xmin, st_ymin(e)::float8 as ymin,
       st_xmax(e)::float8 as xmax, st_ymax(e)::float8 as ymax,
       first_at, last_at
from (select st_extent(p.geom) as e, min(p.created_at) as first_at, max(p.created_at) as last_at
        from parcels p join cases c on c.id = p.case_id
       where $1::text[] is null or c.county_code = any($1)) t
