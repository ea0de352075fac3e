//! The boundary-point coordinate file parser: any bytes give parcels or a line-and-reason
//! error, never a panic; what it accepts is valid and can be written back and read again.
#![no_main]

use landuse_spatial::coordfile;
use landuse_spatial::validate::{self, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(import) = coordfile::read(data) else {
        return;
    };
    for parcel in &import.parcels {
        assert!(validate::check_multi_polygon(&parcel.lonlat, &Rules::PARCEL).is_ok());
        assert!(parcel.planar_area_m2.is_finite() && parcel.ellipsoidal_area_m2.is_finite());
    }
});
