//! Geometry in and out: survey coordinate files and GeoJSON in, validated with `geo` before
//! anything reaches the database; CRS transforms with PROJ; areas on the CGCS2000 ellipsoid;
//! supplied land measured against its approval ([`supply`]); and the PostGIS layer store that
//! imports control layers and checks parcels against them.

pub mod area;
pub mod coordfile;
pub mod crs;
pub mod geojson_in;
pub mod geojson_out;
#[cfg(feature = "store")]
pub mod store;
pub mod supply;
pub mod tile;
pub mod validate;
pub mod wkb_io;
