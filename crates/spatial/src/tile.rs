//! Tiles of the `WebMercatorQuad` tile matrix set (OGC 17-083r4, the grid web maps call XYZ):
//! which tile a request names, where it lies on the ground, which tiles cover a box, and how
//! much detail a tile can show. Pure arithmetic on spherical Web Mercator; no PROJ, no I/O.
//!
//! Rows count down from the north (`y = 0` touches 85.05°N), columns east from the antimeridian.
//! At tile matrix `z` there are `2^z` rows and `2^z` columns. The tile containing Ankang's city
//! centre (109.03°E, 32.69°N) at matrix 12 is column 3288, row 1654:
//!
//! ```
//! use landuse_spatial::tile::TileId;
//! let tile = TileId::containing(109.03, 32.69, 12);
//! assert_eq!((tile.z(), tile.x(), tile.y()), (12, 3288, 1654));
//! let [west, south, east, north] = tile.lonlat_bounds();
//! assert!(west <= 109.03 && 109.03 < east && south <= 32.69 && 32.69 < north);
//! ```

use std::f64::consts::PI;

/// The deepest tile matrix of `WebMercatorQuad` (the OGC definition lists matrices 0–24).
pub const MAX_ZOOM: u8 = 24;

/// Half the width of the Web Mercator world in metres (`π × 6378137`), the `pointOfOrigin` of
/// every matrix.
pub const ORIGIN_M: f64 = 20_037_508.342_789_244;

/// The width of a tile in pixels, as the tile matrix set defines it (vector tiles carry their own
/// finer grid, [`EXTENT`]).
pub const TILE_PIXELS: u32 = 256;

/// The integer grid of a vector tile: coordinates run from 0 to `EXTENT` across the tile.
pub const EXTENT: u32 = 4096;

/// How far beyond its edges a vector tile carries geometry, in [`EXTENT`] units: lines and
/// outlines then continue under the neighbouring tile instead of stopping at the seam.
pub const BUFFER: u32 = 64;

/// The latitude where Web Mercator's square world ends.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// Why a tile address does not name a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The tile matrix is deeper than [`MAX_ZOOM`].
    #[error("tile matrix {z} does not exist: WebMercatorQuad has matrices 0 to {MAX_ZOOM}")]
    Matrix {
        /// The matrix asked for.
        z: u32,
    },
    /// The row is outside the matrix.
    #[error("tile row {y} is outside tile matrix {z}, whose rows are 0 to {last}")]
    Row {
        /// The row asked for.
        y: u32,
        /// The matrix.
        z: u8,
        /// Its last row.
        last: u32,
    },
    /// The column is outside the matrix.
    #[error("tile column {x} is outside tile matrix {z}, whose columns are 0 to {last}")]
    Column {
        /// The column asked for.
        x: u32,
        /// The matrix.
        z: u8,
        /// Its last column.
        last: u32,
    },
}

/// One tile of `WebMercatorQuad`: matrix (zoom) `z`, column `x`, row `y`. Built only through
/// [`TileId::new`] or [`TileId::containing`], so every value names a tile that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// The tile at matrix `z`, column `x`, row `y`.
    ///
    /// # Errors
    /// [`TileError`] naming the first coordinate that is out of range.
    ///
    /// ```
    /// use landuse_spatial::tile::{TileError, TileId};
    /// assert!(TileId::new(3, 7, 0).is_ok());
    /// assert_eq!(TileId::new(3, 8, 0), Err(TileError::Column { x: 8, z: 3, last: 7 }));
    /// assert_eq!(TileId::new(25, 0, 0), Err(TileError::Matrix { z: 25 }));
    /// ```
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        let z = u8::try_from(z)
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or(TileError::Matrix { z })?;
        let last = (1u32 << z) - 1;
        if y > last {
            return Err(TileError::Row { y, z, last });
        }
        if x > last {
            return Err(TileError::Column { x, z, last });
        }
        Ok(Self { z, x, y })
    }

    /// The tile of matrix `z` that contains a longitude and latitude (clamped to the square
    /// world: beyond 85.05° it is the first or last row).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Self {
        let z = z.min(MAX_ZOOM);
        let n = f64::from(1u32 << z);
        let last = (1u32 << z) - 1;
        let x = ((lon.clamp(-180.0, 180.0) + 180.0) / 360.0 * n).floor();
        let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
        let y = ((1.0 - lat.tan().asinh() / PI) / 2.0 * n).floor();
        Self {
            z,
            x: (x.max(0.0) as u32).min(last),
            y: (y.max(0.0) as u32).min(last),
        }
    }

    /// The tile matrix (zoom level).
    pub fn z(&self) -> u8 {
        self.z
    }

    /// The column.
    pub fn x(&self) -> u32 {
        self.x
    }

    /// The row, counted from the north.
    pub fn y(&self) -> u32 {
        self.y
    }

    /// West, south, east, north of the tile in degrees (CRS84).
    pub fn lonlat_bounds(&self) -> [f64; 4] {
        let n = f64::from(1u32 << self.z);
        let lon = |x: u32| f64::from(x) / n * 360.0 - 180.0;
        let lat = |y: u32| (PI * (1.0 - 2.0 * f64::from(y) / n)).sinh().atan().to_degrees();
        [lon(self.x), lat(self.y + 1), lon(self.x + 1), lat(self.y)]
    }

    /// Where a longitude and latitude fall on this tile's [`EXTENT`] grid: `(0, 0)` is the
    /// north-west corner, `(EXTENT, EXTENT)` the south-east one; points outside the tile fall
    /// outside that range.
    pub fn grid_position(&self, lon: f64, lat: f64) -> (f64, f64) {
        let n = f64::from(1u32 << self.z);
        let extent = f64::from(EXTENT);
        let world_x = (lon + 180.0) / 360.0 * n;
        let world_y = (1.0 - lat.to_radians().tan().asinh() / PI) / 2.0 * n;
        (
            (world_x - f64::from(self.x)) * extent,
            (world_y - f64::from(self.y)) * extent,
        )
    }

    /// Half of one [`EXTENT`] unit of this tile, in degrees of latitude where the tile is
    /// narrowest (Web Mercator stretches latitude by `1 / cos φ`): detail finer than this cannot
    /// show in the tile, so geometry may be simplified by it in CGCS2000 degrees before it is
    /// projected, and fewer vertices are transformed and encoded.
    pub fn half_unit_degrees(&self) -> f64 {
        let unit_lon = 360.0 / f64::from(1u32 << self.z) / f64::from(EXTENT);
        let [_, south, _, north] = self.lonlat_bounds();
        let widest = south.abs().max(north.abs()).min(MAX_LATITUDE);
        unit_lon * widest.to_radians().cos() / 2.0
    }
}

/// The tiles of matrix `z` that cover a box of west, south, east, north degrees (CRS84), row by
/// row from the north-west. A box whose west edge is east of its east edge is read as empty.
pub fn tiles_covering(bbox: [f64; 4], z: u8) -> impl Iterator<Item = TileId> {
    let [west, south, east, north] = bbox;
    let empty = !(west <= east && south <= north);
    let north_west = TileId::containing(west, north, z);
    let south_east = TileId::containing(east, south, z);
    let columns = north_west.x..=south_east.x;
    let z = north_west.z;
    (north_west.y..=south_east.y)
        .filter(move |_| !empty)
        .flat_map(move |y| columns.clone().map(move |x| TileId { z, x, y }))
}

/// The size of one pixel of matrix `z` in metres at the equator, the `cellSize` of the tile
/// matrix set's description.
pub fn cell_size_m(z: u8) -> f64 {
    2.0 * ORIGIN_M / f64::from(TILE_PIXELS) / f64::from(1u32 << z.min(MAX_ZOOM))
}

/// The scale denominator of matrix `z` for the standardised 0.28 mm rendering pixel.
pub fn scale_denominator(z: u8) -> f64 {
    cell_size_m(z) / 0.000_28
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;

    #[test]
    fn every_address_inside_the_matrix_is_a_tile_and_nothing_else_is() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(24, (1 << 24) - 1, (1 << 24) - 1).is_ok());
        assert_eq!(TileId::new(0, 0, 1), Err(TileError::Row { y: 1, z: 0, last: 0 }));
        assert_eq!(
            TileId::new(14, 16_384, 2),
            Err(TileError::Column {
                x: 16_384,
                z: 14,
                last: 16_383
            })
        );
        assert_eq!(
            TileId::new(u32::MAX, 0, 0),
            Err(TileError::Matrix { z: u32::MAX })
        );
    }

    #[test]
    fn the_world_tile_spans_the_square_world() {
        let [w, s, e, n] = TileId::new(0, 0, 0).unwrap().lonlat_bounds();
        assert_eq!((w, e), (-180.0, 180.0));
        assert!((n - MAX_LATITUDE).abs() < 1e-9 && (s + MAX_LATITUDE).abs() < 1e-9);
    }

    #[test]
    fn rows_count_from_the_north_so_a_tile_with_x_not_y_is_not_mirrored() {
        // z/y/x in OGC paths against z/x/y in XYZ URLs: a tile whose row and column differ
        // shows which one was swapped.
        let tile = TileId::containing(108.9, 32.6, 14);
        assert_ne!(tile.x(), tile.y());
        assert_eq!((tile.x(), tile.y()), (13148, 6621));
        let [w, s, e, n] = tile.lonlat_bounds();
        assert!(w <= 108.9 && 108.9 < e && s <= 32.6 && 32.6 < n);
    }

    #[test]
    fn a_point_falls_on_the_grid_where_its_tile_says() {
        let tile = TileId::containing(108.9, 32.6, 14);
        let (gx, gy) = tile.grid_position(108.9, 32.6);
        assert!((0.0..4096.0).contains(&gx) && (0.0..4096.0).contains(&gy));
        let [w, s, e, n] = tile.lonlat_bounds();
        let (x0, y0) = tile.grid_position(w, n);
        let (x1, y1) = tile.grid_position(e, s);
        assert!(x0.abs() < 1e-6 && y0.abs() < 1e-6);
        assert!((x1 - 4096.0).abs() < 1e-6 && (y1 - 4096.0).abs() < 1e-6);
    }

    #[test]
    fn tiles_covering_a_box_are_the_rectangle_of_rows_and_columns_it_touches() {
        let bbox = [108.2, 32.2, 109.8, 33.2];
        let tiles: Vec<TileId> = tiles_covering(bbox, 10).collect();
        assert_eq!(tiles.len(), 6 * 5);
        assert_eq!(tiles[0], TileId::containing(108.2, 33.2, 10));
        assert_eq!(tiles[tiles.len() - 1], TileId::containing(109.8, 32.2, 10));
        assert_eq!(tiles_covering(bbox, 0).count(), 1);
        assert_eq!(tiles_covering([1.0, 0.0, 0.0, 1.0], 5).count(), 0);
    }

    #[test]
    fn half_a_unit_shrinks_fourfold_two_matrices_deeper_and_with_latitude() {
        let near = TileId::containing(109.0, 32.7, 10);
        let deeper = TileId::containing(109.0, 32.7, 12);
        let ratio = near.half_unit_degrees() / deeper.half_unit_degrees();
        assert!((ratio - 4.0).abs() < 0.02, "{ratio}");
        let equator = TileId::containing(109.0, 0.1, 10);
        assert!(equator.half_unit_degrees() > near.half_unit_degrees());
        // 0.5 / 4096 of a 0.35° tile, times cos 33°: about 3.6e-5° (4 m) at matrix 10.
        assert!((near.half_unit_degrees() - 3.6e-5).abs() < 0.2e-5);
    }

    #[test]
    fn cell_sizes_and_scales_are_those_of_the_ogc_definition() {
        assert!((cell_size_m(0) - 156_543.033_928_041).abs() < 1e-6);
        assert!((scale_denominator(0) - 559_082_264.028_717).abs() < 1e-3);
        assert!((cell_size_m(24) - 0.009_330_691_929_342_8).abs() < 1e-12);
    }
}
