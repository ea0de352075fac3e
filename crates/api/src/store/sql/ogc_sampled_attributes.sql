-- The attribute names of the first 1000 features of layer versions $1, each with the JSON type
-- its sampled values share: integer, number or boolean when every non-null value is one, else
-- string (also when every value is null).
select e.key as name,
       case when not bool_or(jsonb_typeof(e.value) <> 'null') then 'string'
            when bool_and(jsonb_typeof(e.value) = 'null'
                          or (jsonb_typeof(e.value) = 'number' and e.value::text ~ '^-?[0-9]+$')) then 'integer'
            when bool_and(jsonb_typeof(e.value) in ('number', 'null')) then 'number'
            when bool_and(jsonb_typeof(e.value) in ('boolean', 'null')) then 'boolean'
            else 'string' end as json_type
from (select attributes from layer_features where version_id = any($1) order by id limit 1000) f
cross join lateral jsonb_each(f.attributes) e
group by e.key
order by e.key
