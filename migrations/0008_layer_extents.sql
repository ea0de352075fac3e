-- Each layer version's lon/lat extent (west, south, east, north), stored when its import
-- commits: collection metadata (/ogc/collections, /ogc/collections/{id}) reads four numbers per
-- version instead of scanning every feature of the layer on each request. Null for a version
-- without features.
alter table layer_versions add column extent double precision[];
alter table layer_versions add constraint layer_versions_extent_is_a_box
    check (extent is null or cardinality(extent) = 4);

update layer_versions v
   set extent = t.extent
  from (select f.version_id,
               array[st_xmin(st_extent(f.geom)), st_ymin(st_extent(f.geom)),
                     st_xmax(st_extent(f.geom)), st_ymax(st_extent(f.geom))]::float8[] as extent
          from layer_features f
         group by f.version_id) t
 where t.version_id = v.id;
