-- The area a `bbox` query parameter of OGC API – Features names, in CGCS2000 lon/lat (4490):
-- corners (x/y: west, south, east, north) in `srid`, each edge densified to `segment` before
-- the transform so that it stays where the client drew it (a straight edge in a projection is
-- not one in lon/lat). A box whose west corner lies east of its east corner crosses the
-- antimeridian (OGC API – Features, Part 1, 7.15.3), which only lon/lat boxes may: it is the
-- two boxes either side of ±180°.
--
-- IMMUTABLE, so that a statement sent with the corners as constants is planned with the area
-- itself as a constant and the `&&` beside it uses the layer's GiST index.
create function landuse_bbox(corners float8[], srid int4, segment float8) returns geometry
    language sql immutable parallel safe
    return st_transform(
        st_segmentize(
            case
                when corners[1] <= corners[3]
                    then st_makeenvelope(corners[1], corners[2], corners[3], corners[4], srid)
                else st_collect(
                    st_makeenvelope(corners[1], corners[2], 180, corners[4], srid),
                    st_makeenvelope(-180, corners[2], corners[3], corners[4], srid))
            end,
            segment),
        4490);
