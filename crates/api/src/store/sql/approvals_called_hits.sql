-- Each case's latest check when it is current (not stale), whether a planner confirmed it, and
-- its hits with what the approval rules read of each: the result of its layer and the feature
-- it touched (its source id; else its row in layer_features; else, for the part of a parcel
-- outside the urban boundary, the parcel). Slivers are left out: they do not count. A check
-- without counted hits is one row with no hit.
select k.case_id,
       k.confirmed_at is not null as confirmed,
       h.hit_id,
       h.layer_kind,
       h.feature,
       h.result,
       h.dismissed
  from latest_checks k
  join checks c on c.id = k.id
  left join lateral (
        select h.id as hit_id,
               h.layer_kind,
               coalesce(nullif(x.hit ->> 'source_id', ''), h.feature_id::text,
                        'parcel ' || (x.hit ->> 'parcel')) as feature,
               l.layer ->> 'result' as result,
               h.dismissed_at is not null as dismissed,
               h.hit_index
          from check_hits h
         cross join lateral (select e as layer
                               from jsonb_array_elements(c.report -> 'layers') e
                              where e ->> 'kind' = h.layer_kind
                              limit 1) l
         cross join lateral (select l.layer -> 'hits' -> h.hit_index as hit) x
         where h.check_id = k.id
           and coalesce(x.hit ->> 'class', 'counted') <> 'sliver') h on true
 where k.case_id = any($1)
   and not k.stale
 order by k.case_id, h.layer_kind, h.hit_index
