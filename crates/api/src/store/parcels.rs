//! The parcels of a case: its footprint, one row per uploaded polygon, numbered in upload order.
//! Geometry goes in and out as WKB in EPSG:4490 (the SRID is always set here, never guessed).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A stored parcel, its geometry as WKB.
#[derive(Debug, sqlx::FromRow)]
pub struct ParcelRow {
    /// The parcel's id.
    pub id: Uuid,
    /// Its place in the case, from 1.
    pub seq: i32,
    /// Its name (empty when the upload gave none).
    pub name: String,
    /// Its geometry, a WKB `MultiPolygon` in longitude and latitude.
    pub wkb: Vec<u8>,
    /// Its ellipsoidal area in square metres.
    pub area_m2: f64,
    /// Its planar Gauss–Krüger area, for a parcel read from a coordinate file.
    pub planar_area_m2: Option<f64>,
    /// The area the coordinate file stated.
    pub stated_area_m2: Option<f64>,
    /// The Gauss–Krüger zone of the coordinate file it came from.
    pub zone: Option<i32>,
    /// `geojson` or `coordinate_file`.
    pub source: String,
    /// The attributes the upload carried.
    pub attributes: Value,
}

/// A case's parcels in order.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<ParcelRow>, DbError> {
    sqlx::query_as(
        "select id, seq, name, st_asbinary(geom) as wkb, area_m2, planar_area_m2, stated_area_m2, zone,
                source, attributes
           from parcels where case_id = $1 order by seq",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
    .doing("loading parcels")
}

/// How many vertices a case's parcels have together (the upload cap counts them).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn vertex_count(conn: &mut PgConnection, case_id: Uuid) -> Result<i64, DbError> {
    sqlx::query_scalar("select coalesce(sum(st_npoints(geom)), 0)::bigint from parcels where case_id = $1")
        .bind(case_id)
        .fetch_one(conn)
        .await
        .doing("counting vertices")
}

/// Removes every parcel of a case (before a replacement).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn remove_all(conn: &mut PgConnection, case_id: Uuid) -> Result<(), DbError> {
    sqlx::query("delete from parcels where case_id = $1")
        .bind(case_id)
        .execute(conn)
        .await
        .doing("removing the old parcels")?;
    Ok(())
}

/// A parcel to store.
#[derive(Debug)]
pub struct NewParcelRow<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its geometry, a WKB `MultiPolygon` in longitude and latitude (EPSG:4490).
    pub wkb: &'a [u8],
    /// Its ellipsoidal area.
    pub area_m2: f64,
    /// Its planar Gauss–Krüger area (coordinate files only).
    pub planar_area_m2: Option<f64>,
    /// The area the coordinate file stated.
    pub stated_area_m2: Option<f64>,
    /// The Gauss–Krüger zone of the coordinate file.
    pub zone: Option<i32>,
    /// `geojson` or `coordinate_file`.
    pub source: &'static str,
    /// The attributes the upload carried.
    pub attributes: &'a Value,
}

/// Appends `parcels` to a case's, numbered after the last one it has.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, parcels), fields(count = parcels.len()))]
pub async fn append(
    conn: &mut PgConnection,
    case_id: Uuid,
    parcels: &[NewParcelRow<'_>],
) -> Result<(), DbError> {
    let last: i32 = sqlx::query_scalar("select coalesce(max(seq), 0) from parcels where case_id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await
        .doing("numbering parcels")?;
    for (seq, parcel) in (last.saturating_add(1)..).zip(parcels) {
        sqlx::query(
            "insert into parcels (id, case_id, seq, name, geom, area_m2, planar_area_m2, stated_area_m2,
                                  zone, source, attributes)
             values ($1, $2, $3, $4, st_geomfromwkb($5, 4490), $6, $7, $8, $9, $10, $11)",
        )
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind(seq)
        .bind(parcel.name)
        .bind(parcel.wkb)
        .bind(parcel.area_m2)
        .bind(parcel.planar_area_m2)
        .bind(parcel.stated_area_m2)
        .bind(parcel.zone)
        .bind(parcel.source)
        .bind(parcel.attributes)
        .execute(&mut *conn)
        .await
        .doing("storing a parcel")?;
    }
    Ok(())
}
