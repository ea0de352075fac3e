//! `landuse demo generate`: the demo region's control layers, key projects and planned cases,
//! drawn from a seeded `ChaCha8` generator so that one seed always writes the same bytes.

use std::{f64::consts::PI, path::Path};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    shapes::{band, feature_collection, star_polygon, zone, Feature, Point, Prop, Shape, Star},
    DemoError, Sizes, COUNTIES, HAN_RIVER,
};

/// What a planned case is driven to (as far as the rules allow on the day it is loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Left as a draft.
    Draft,
    /// Submitted, waiting for the reviewer.
    Accepted,
    /// In pre-review with a clean, unconfirmed check.
    PreReview,
    /// In pre-review with a check that found permanent farmland.
    Prohibited,
    /// Check confirmed, opinion issued, in conversion.
    Conversion,
    /// Driven on to supply when quota and offset allow.
    Supply,
    /// Driven on to registration when they allow.
    Registration,
    /// Driven on to completion when they allow.
    Completed,
    /// Returned for correction.
    Correction,
    /// Rejected at pre-review.
    Rejected,
    /// Withdrawn by the officer.
    Withdrawn,
}

impl Plan {
    /// Every plan, in the order the first cases take them so that each appears.
    pub const ALL: [Plan; 11] = [
        Plan::Draft,
        Plan::Accepted,
        Plan::PreReview,
        Plan::Prohibited,
        Plan::Conversion,
        Plan::Supply,
        Plan::Registration,
        Plan::Completed,
        Plan::Correction,
        Plan::Rejected,
        Plan::Withdrawn,
    ];

    const WEIGHTS: [u32; 11] = [12, 14, 16, 5, 14, 6, 4, 8, 8, 4, 4];

    /// Whether the plan ends in a stage with a running time limit, where a case left to sit
    /// runs past it.
    pub fn ends_on_a_clock(self) -> bool {
        matches!(
            self,
            Plan::Accepted
                | Plan::PreReview
                | Plan::Prohibited
                | Plan::Conversion
                | Plan::Supply
                | Plan::Registration
        )
    }

    /// Whether the case's parcels lie on permanent farmland.
    pub fn on_farmland(self) -> bool {
        matches!(self, Plan::Prohibited | Plan::Rejected)
    }
}

/// A key project as written to `projects.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedProject {
    /// `infrastructure`, `industry` or `livelihood`.
    pub category: String,
    /// County code.
    pub county_code: String,
    /// The file's own key (`P0001`), which cases refer to.
    pub key: String,
    /// `provincial`, `municipal` or `county`.
    pub level: String,
    /// Name.
    pub name: String,
    /// A new start this year.
    pub new_start: bool,
    /// On the provincial or municipal key-project list.
    pub on_key_list: bool,
    /// Planned start (`YYYY-MM-DD`).
    pub planned_start: String,
    /// The responsible leader.
    pub responsible_leader: Option<String>,
    /// Sector.
    pub sector: String,
    /// The list year.
    pub year: i32,
}

/// A case as written to `projects.json`; its parcels are in `parcels.geojson` under its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedCase {
    /// Days before the load at which the case was opened.
    pub age_days: u32,
    /// A leader grants the green channel (for a project not on a key list).
    pub green_grant: bool,
    /// Its parcels lie inside a provincial development zone (the `development_zone` layer is
    /// drawn around them), so its land is supplied as standard land.
    #[serde(default)]
    pub in_development_zone: bool,
    /// The file's own key (`P0001-1`).
    pub key: String,
    /// Left to sit after its last step, so its limits run out.
    pub overdue: bool,
    /// The use declared for lying outside the urban boundary (`linear_infrastructure`).
    pub outside_boundary_use: Option<String>,
    /// How far it is driven.
    pub plan: Plan,
    /// The project's key.
    pub project: String,
    /// Title.
    pub title: String,
    /// The activity on the allowed list of the red-line and core zones it declares, if any
    /// (the service is told only that it declares one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_activity: Option<String>,
    /// The approval kind it is left waiting for, every other record its check calls for being
    /// recorded ([`super::waiting`]); generated cases name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits_for: Option<String>,
    /// Which phase or segment of its project it is, for a project applied for in parts (only
    /// key projects, which ride the green channel, are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PlannedPhase>,
}

/// The phase (分期) or segment (分段) a planned case states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedPhase {
    /// `phase` or `segment`.
    pub kind: landuse_domain::phase::PhaseKind,
    /// From 1.
    pub number: u32,
    /// Its name (`K0+000–K12+000` for a segment).
    pub name: String,
}

impl PlannedPhase {
    /// Part `index` (from 0) of a project: segments of a road with their stretch, phases
    /// otherwise.
    fn of(sector: &str, index: usize) -> Self {
        use landuse_domain::phase::PhaseKind;
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if sector == "transport" {
            Self {
                kind: PhaseKind::Segment,
                number,
                name: format!("K{}+000–K{}+000", index * 12, (index + 1) * 12),
            }
        } else {
            Self {
                kind: PhaseKind::Phase,
                number,
                name: format!("{}期", ["一", "二", "三"][index.min(2)]),
            }
        }
    }
}

/// The bounding box of a polygon's outer ring: west, south, east, north.
fn bbox(rings: &[Vec<Point>]) -> [f64; 4] {
    let outer = rings.first().map_or(&[][..], Vec::as_slice);
    outer.iter().fold(
        [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
        |[w, s, e, n], &(x, y)| [w.min(x), s.min(y), e.max(x), n.max(y)],
    )
}

/// Moves `rings` east in steps of 0.009° until their box meets none of `taken`: the parcels of
/// one project's phases may not overlap (only a project's later phases are moved).
fn clear_of(rings: &mut [Vec<Point>], taken: &[[f64; 4]]) {
    let meets = |a: [f64; 4], b: &[f64; 4]| a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
    while taken.iter().any(|t| meets(bbox(rings), t)) {
        for point in rings.iter_mut().flatten() {
            point.0 += 0.009;
        }
    }
}

/// `projects.json`: what was generated and with which settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoPlan {
    /// The cases.
    pub cases: Vec<PlannedCase>,
    /// The projects.
    pub projects: Vec<PlannedProject>,
    /// The seed.
    pub seed: u64,
    /// The sizes.
    pub sizes: Sizes,
}

/// The control-layer files, by layer-kind code, in the order they are loaded.
pub const LAYER_FILES: [&str; 14] = [
    "permanent_farmland",
    "cultivated_land",
    "urban_boundary",
    "ecological_redline",
    "qinling_core",
    "qinling_key",
    "qinling_general",
    "nature_reserve_core",
    "nature_reserve_general",
    "geohazard",
    "mineral_deposit",
    "mineral_whitelist",
    "construction_land",
    "development_zone",
];

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    /// Features per layer file.
    pub layers: Vec<(&'static str, usize)>,
    /// Projects.
    pub projects: usize,
    /// Cases.
    pub cases: usize,
    /// Parcels.
    pub parcels: usize,
}

impl std::fmt::Display for GenerateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = self.layers.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(
            f,
            "{}; {} projects, {} cases, {} parcels",
            layers.join(", "),
            self.projects,
            self.cases,
            self.parcels
        )
    }
}

/// The distance between two points in degrees of latitude (longitude shrunk by the latitude).
fn distance(a: Point, b: Point) -> f64 {
    let scale = a.1.to_radians().cos();
    ((a.0 - b.0) * scale).hypot(a.1 - b.1)
}

struct Region {
    /// Urban-boundary radius per county, in degrees.
    urban: Vec<f64>,
}

impl Region {
    /// Index of the nearest county seat.
    fn nearest_county(p: Point) -> usize {
        (0..COUNTIES.len())
            .min_by(|&a, &b| distance(p, COUNTIES[a].seat).total_cmp(&distance(p, COUNTIES[b].seat)))
            .unwrap_or(0)
    }

    /// Whether `p` is within `margin` degrees of any urban boundary.
    fn near_town(&self, p: Point, margin: f64) -> bool {
        COUNTIES
            .iter()
            .zip(&self.urban)
            .any(|(county, r)| distance(p, county.seat) < 1.4 * r + margin)
    }
}

/// A point on the Han River `t` of the way along (by vertex count, which is near enough),
/// and the river's heading there.
#[allow(clippy::many_single_char_names)] // interpolation along a segment reads best in its usual letters
fn on_river(t: f64) -> (Point, f64) {
    let segments = HAN_RIVER.len() - 1;
    let x = t.clamp(0.0, 0.999_999) * segments as f64;
    let i = x.floor() as usize;
    let f = x - i as f64;
    let (a, b) = (HAN_RIVER[i], HAN_RIVER[i + 1]);
    let p = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
    let heading = (b.1 - a.1).atan2((b.0 - a.0) * a.1.to_radians().cos());
    (p, heading)
}

fn in_region(p: Point) -> bool {
    (108.0..=110.2).contains(&p.0) && (31.7..=33.8).contains(&p.1)
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// The features of each layer file, by layer-kind code, in the order they are loaded.
type Layers = Vec<(&'static str, Vec<Feature>)>;

/// Where cases may take land outside the towns: centres of permanent-farmland patches, and of
/// cultivated patches that are not permanent farmland.
#[derive(Debug, Default)]
struct Sites {
    farmland: Vec<Point>,
    cultivated: Vec<Point>,
    /// The centres of the mineral deposits no whitelist area covers: a case there needs an
    /// overlay query.
    deposits: Vec<Point>,
}

/// A cultivated-land patch: its polygon, county and land class.
struct Patch {
    rings: Vec<super::shapes::Ring>,
    centre: Point,
    county: usize,
    dlbm: &'static str,
}

fn dlmc(dlbm: &str) -> &'static str {
    match dlbm {
        "0101" => "水田",
        "0102" => "水浇地",
        "0103" => "旱地",
        "0201" => "果园",
        "0202" => "茶园",
        _ => "乔木林地",
    }
}

/// The side of the cells patches are laid out in, in degrees of latitude (about 550 m).
const PATCH_CELL: f64 = 0.005;

/// Survey patches never overlap: each takes one cell of a grid (square on the ground at the
/// region's middle latitude), centred in it and small enough to stay inside.
fn patch_cell(p: Point) -> (i64, i64) {
    let lon_scale = 32.75_f64.to_radians().cos();
    (
        (p.0 * lon_scale / PATCH_CELL).floor() as i64,
        (p.1 / PATCH_CELL).floor() as i64,
    )
}

fn patches(rng: &mut ChaCha8Rng, region: &Region, count: usize) -> Vec<Patch> {
    let mut out = Vec::with_capacity(count);
    let mut taken = std::collections::HashSet::new();
    let lon_scale = 32.75_f64.to_radians().cos();
    // Draws that land on a taken cell are drawn again; past this many the region is full.
    let mut draws_left = 40 * count + 100_000;
    while out.len() < count && draws_left > 0 {
        draws_left -= 1;
        let drawn = if rng.random_bool(0.6) {
            let (p, heading) = on_river(rng.random::<f64>());
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let offset = side * rng.random_range(0.008..0.12);
            let normal = heading + PI / 2.0;
            (
                p.0 + offset * normal.cos() / p.1.to_radians().cos(),
                p.1 + offset * normal.sin(),
            )
        } else {
            let c = rng.random_range(0..COUNTIES.len());
            let seat = COUNTIES[c].seat;
            let d = 1.4 * region.urban[c] + rng.random_range(0.015..0.16);
            let a = rng.random_range(0.0..2.0 * PI);
            (
                seat.0 + d * a.cos() / seat.1.to_radians().cos(),
                seat.1 + d * a.sin(),
            )
        };
        let cell = patch_cell(drawn);
        let jitter = (rng.random_range(-0.08..0.08), rng.random_range(-0.08..0.08));
        let centre = (
            (cell.0 as f64 + 0.5 + jitter.0) * PATCH_CELL / lon_scale,
            (cell.1 as f64 + 0.5 + jitter.1) * PATCH_CELL,
        );
        if taken.contains(&cell) || !in_region(centre) || region.near_town(centre, 0.012) {
            continue;
        }
        // Reaching at most radius × stretch from the centre: under 0.38 of a cell, with room
        // for the jitter and the few per cent the latitude changes a degree of longitude.
        let star = Star {
            centre,
            radius: rng.random_range(0.0005..0.0013),
            vertices: rng.random_range(14..36),
            stretch: rng.random_range(1.0..1.45),
            heading: rng.random_range(0.0..PI),
        };
        let hole = rng.random_bool(0.15);
        let rings = star_polygon(rng, &star, hole);
        if !rings[0].iter().all(|&p| in_region(p)) {
            continue;
        }
        taken.insert(cell);
        let roll = rng.random_range(0..100);
        let dlbm = match roll {
            0..30 => "0101",
            30..40 => "0102",
            40..95 => "0103",
            95..97 => "0201",
            97..99 => "0202",
            _ => "0301",
        };
        out.push(Patch {
            rings,
            centre,
            county: Region::nearest_county(centre),
            dlbm,
        });
    }
    out
}

#[allow(clippy::too_many_lines)] // one layer after another, in the order they are described
fn layers(rng: &mut ChaCha8Rng, sizes: &Sizes, region: &Region) -> Result<(Layers, Sites), DemoError> {
    let mut out = Vec::new();

    let urban = COUNTIES
        .iter()
        .zip(&region.urban)
        .map(|(county, &r)| {
            let star = Star {
                centre: county.seat,
                radius: r,
                vertices: 64,
                stretch: rng.random_range(1.0..1.3),
                heading: rng.random_range(0.0..PI),
            };
            Feature::new(
                Shape::Polygon(star_polygon(rng, &star, false)),
                [
                    ("CZKFBJ", Prop::from(format!("{}城镇开发边界", county.name))),
                    ("XZQDM", Prop::from(county.code)),
                ],
            )
        })
        .collect();
    out.push(("urban_boundary", urban));

    let patches = patches(rng, region, sizes.cultivated as usize);
    if patches.len() < sizes.cultivated as usize {
        return Err(DemoError::NoRoom {
            asked: sizes.cultivated,
            room: patches.len(),
        });
    }
    let mut sites = Sites::default();
    for patch in patches.iter().filter(|p| p.dlbm.starts_with("01")) {
        if sites.farmland.len() < sizes.farmland as usize {
            sites.farmland.push(patch.centre);
        } else {
            sites.cultivated.push(patch.centre);
        }
    }
    let mut farmland = Vec::new();
    let mut cultivated = Vec::new();
    for (n, patch) in patches.iter().enumerate() {
        let county = &COUNTIES[patch.county];
        let bsm = n as i64 + 1;
        if patch.dlbm.starts_with("01") && farmland.len() < sizes.farmland as usize {
            farmland.push(Feature::new(
                Shape::Polygon(patch.rings.clone()),
                [
                    ("BSM", Prop::from(bsm)),
                    ("DLBM", Prop::from(patch.dlbm)),
                    ("JBNTTBBH", Prop::from(format!("JB{}{:06}", county.code, bsm))),
                    ("ZLDWMC", Prop::from(county.name)),
                ],
            ));
        }
        cultivated.push(Feature::new(
            Shape::Polygon(patch.rings.clone()),
            [
                ("BSM", Prop::from(bsm)),
                ("DLBM", Prop::from(patch.dlbm)),
                ("DLMC", Prop::from(dlmc(patch.dlbm))),
                ("ZLDWDM", Prop::from(county.code)),
                ("ZLDWMC", Prop::from(county.name)),
            ],
        ));
    }
    out.push(("permanent_farmland", farmland));
    out.push(("cultivated_land", cultivated));

    let mut redline = Vec::new();
    while redline.len() < sizes.redline as usize {
        let n = redline.len();
        let (start, heading, name) = match n % 3 {
            0 => {
                let (p, heading) = on_river(rng.random::<f64>());
                let offset = if rng.random_bool(0.5) { 0.015 } else { -0.015 };
                let normal = heading + PI / 2.0;
                let start = (p.0 + offset * normal.cos(), p.1 + offset * normal.sin());
                (start, heading, "汉江水源涵养生态保护红线")
            }
            1 => {
                let (p, heading) = on_river(rng.random::<f64>());
                let side = if rng.random_bool(0.5) { PI / 2.0 } else { -PI / 2.0 };
                (p, heading + side, "支流河道生态保护红线")
            }
            _ => {
                if rng.random_bool(0.5) {
                    let start = (rng.random_range(108.0..109.4), rng.random_range(33.4..33.72));
                    (start, rng.random_range(-0.2..0.2), "秦岭山脊生物多样性维护红线")
                } else {
                    let start = (rng.random_range(108.6..109.8), rng.random_range(31.8..32.25));
                    (start, rng.random_range(-0.5..-0.1), "大巴山水土保持生态保护红线")
                }
            }
        };
        let (steps, half_width) = (rng.random_range(10..30), rng.random_range(0.003..0.008));
        let rings = band(rng, start, heading, steps, 0.01, half_width);
        if rings[0]
            .iter()
            .any(|&p| !in_region(p) || region.near_town(p, 0.03))
        {
            continue;
        }
        redline.push(Feature::new(
            Shape::Polygon(rings),
            [
                ("BH", Prop::from(format!("STBHHX{:04}", n + 1))),
                ("STBHHX", Prop::from(name)),
            ],
        ));
    }
    out.push(("ecological_redline", redline));

    // Qinling zones: bands across the north, sharing their wavy edges.
    let wave =
        |base: f64, amplitude: f64, phase: f64| move |lon: f64| base + amplitude * (lon * 7.0 + phase).sin();
    let phase = rng.random_range(0.0..PI);
    let general_south = wave(33.13, 0.03, phase);
    let key_south = wave(33.4, 0.025, phase + 1.0);
    let core_south = wave(33.57, 0.02, phase + 2.0);
    let top = |_: f64| 33.8;
    let zone_feature = |rings, name: &str| Feature::new(Shape::Polygon(rings), [("BHQMC", Prop::from(name))]);
    out.push((
        "qinling_core",
        vec![zone_feature(
            zone(108.15, 109.2, core_south, top),
            "秦岭核心保护区",
        )],
    ));
    out.push((
        "qinling_key",
        vec![zone_feature(
            zone(108.0, 109.6, key_south, core_south),
            "秦岭重点保护区",
        )],
    ));
    out.push((
        "qinling_general",
        vec![zone_feature(
            zone(108.0, 109.75, general_south, key_south),
            "秦岭一般保护区",
        )],
    ));

    let reserves = [
        ("天华山国家级自然保护区", (108.55, 33.62), 0.035),
        ("化龙山国家级自然保护区", (109.64, 31.96), 0.04),
        ("平利女娲山自然保护区", (109.45, 32.2), 0.025),
        ("瀛湖湿地自然公园", (108.85, 32.56), 0.02),
    ];
    let mut core = Vec::new();
    let mut general = Vec::new();
    for (name, centre, r) in reserves {
        for (list, radius, zone_name) in [
            (&mut core, r, "核心保护区"),
            (&mut general, r * 2.2, "一般控制区"),
        ] {
            let star = Star {
                centre,
                radius,
                vertices: 40,
                stretch: 1.2,
                heading: 0.6,
            };
            list.push(Feature::new(
                Shape::Polygon(star_polygon(rng, &star, false)),
                [("BHDMC", Prop::from(name)), ("GNFQ", Prop::from(zone_name))],
            ));
        }
    }
    out.push(("nature_reserve_core", core));
    out.push(("nature_reserve_general", general));

    let mut hazards = Vec::new();
    while hazards.len() < sizes.hazards as usize {
        let p = if rng.random_bool(0.7) {
            let (p, heading) = on_river(rng.random::<f64>());
            let offset = rng.random_range(-0.12..0.12);
            let normal = heading + PI / 2.0;
            (p.0 + offset * normal.cos(), p.1 + offset * normal.sin())
        } else {
            (rng.random_range(108.0..110.2), rng.random_range(31.7..33.8))
        };
        if !in_region(p) {
            continue;
        }
        let n = hazards.len() as i64 + 1;
        hazards.push(Feature::new(
            Shape::Point(p),
            [
                ("BH", Prop::from(format!("ZH{n:05}"))),
                ("GM", Prop::from(pick(rng, &["小型", "小型", "中型", "大型"]))),
                ("WXRK", Prop::from(rng.random_range(3..400_i64))),
                (
                    "ZHLX",
                    Prop::from(pick(rng, &["滑坡", "滑坡", "崩塌", "泥石流", "地面塌陷"])),
                ),
            ],
        ));
    }
    out.push(("geohazard", hazards));

    let mut deposits = Vec::new();
    let mut deposit_stars = Vec::new();
    while deposits.len() < sizes.deposits as usize {
        // Far enough inside that the whitelist area around a deposit stays in the region too.
        let centre = (rng.random_range(108.15..110.05), rng.random_range(31.83..33.67));
        if region.near_town(centre, 0.05) {
            continue;
        }
        let star = Star {
            centre,
            radius: rng.random_range(0.008..0.025),
            vertices: 24,
            stretch: rng.random_range(1.0..2.0),
            heading: rng.random_range(0.0..PI),
        };
        deposit_stars.push(star);
        if deposits.len() % 3 != 0 {
            sites.deposits.push(centre);
        }
        let n = deposits.len() as i64 + 1;
        deposits.push(Feature::new(
            Shape::Polygon(star_polygon(rng, &star, false)),
            [
                (
                    "KCMC",
                    Prop::from(pick(
                        rng,
                        &["汞锑矿", "金矿", "铅锌矿", "重晶石矿", "毒重石矿", "钒矿"],
                    )),
                ),
                ("KQBH", Prop::from(format!("KC{n:04}"))),
            ],
        ));
    }
    out.push(("mineral_deposit", deposits));

    let mut whitelist = Vec::new();
    for (n, star) in deposit_stars.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
        // A whitelist area wider than the deposit it covers, so parcels there need no query.
        let star = Star {
            radius: star.radius * 2.2 * star.stretch,
            stretch: 1.0,
            vertices: 32,
            ..*star
        };
        whitelist.push(Feature::new(
            Shape::Polygon(star_polygon(rng, &star, false)),
            [("BMDMC", Prop::from(format!("压覆矿产白名单区{:03}", n / 3 + 1)))],
        ));
    }
    out.push(("mineral_whitelist", whitelist));
    Ok((out, sites))
}

/// Existing construction land (三调 DLTB polygons of the construction classes) under some of the
/// cases' parcels: a village plot (0702 农村宅基地) inside every third parcel and a road strip
/// (1003 公路用地) across every fifth, so those cases need less quota than their area. Drawn
/// after the parcels, from the same seed.
fn construction_land(rng: &mut ChaCha8Rng, parcels: &[Feature]) -> Vec<Feature> {
    let mut out = Vec::new();
    for (n, parcel) in parcels.iter().enumerate() {
        let Shape::Polygon(rings) = &parcel.shape else {
            continue;
        };
        let Some(outer) = rings.first().filter(|r| r.len() > 3) else {
            continue;
        };
        let points = &outer[..outer.len() - 1];
        let count = points.len() as f64;
        let centre = (
            points.iter().map(|p| p.0).sum::<f64>() / count,
            points.iter().map(|p| p.1).sum::<f64>() / count,
        );
        // Half the smallest reach of the parcel from its centre, in degrees of latitude.
        let lon_scale = centre.1.to_radians().cos();
        let reach = points
            .iter()
            .map(|p| ((p.0 - centre.0) * lon_scale).hypot(p.1 - centre.1))
            .fold(f64::INFINITY, f64::min);
        let bsm = 900_000 + n as i64;
        if n % 3 == 0 {
            let star = Star {
                centre,
                radius: reach * 0.5,
                vertices: 12,
                stretch: 1.0,
                heading: rng.random_range(0.0..PI),
            };
            out.push(Feature::new(
                Shape::Polygon(star_polygon(rng, &star, false)),
                [
                    ("BSM", Prop::from(bsm)),
                    ("DLBM", Prop::from("0702")),
                    ("DLMC", Prop::from("农村宅基地")),
                ],
            ));
        } else if n % 5 == 1 {
            // A strip 12 m wide running east–west through the parcel's centre and beyond it.
            let half_width = 6.0 / 111_000.0;
            let half_length = reach * 3.0 / lon_scale;
            let (x, y) = centre;
            let strip = vec![
                (x - half_length, y - half_width),
                (x + half_length, y - half_width),
                (x + half_length, y + half_width),
                (x - half_length, y + half_width),
                (x - half_length, y - half_width),
            ];
            out.push(Feature::new(
                Shape::Polygon(vec![strip]),
                [
                    ("BSM", Prop::from(bsm)),
                    ("DLBM", Prop::from("1003")),
                    ("DLMC", Prop::from("公路用地")),
                ],
            ));
        }
    }
    out
}

const LEADERS: [&str; 6] = ["王建华", "李志刚", "陈晓东", "刘红梅", "张立新", "赵文斌"];

fn project_name(rng: &mut ChaCha8Rng, county: &str, category: &str, sector: &str) -> String {
    let what = match (category, sector) {
        (_, "transport") => pick(
            rng,
            &[
                "至西安高速公路连接线",
                "国道316线改线工程",
                "旅游公路",
                "汉江大桥",
                "综合客运枢纽",
                "农村公路提升工程",
            ],
        ),
        (_, "water") => pick(
            rng,
            &[
                "引汉济渭配套水厂",
                "汉江防洪堤加固工程",
                "城乡供水一体化工程",
                "中型水库除险加固",
                "污水处理厂提标改造",
            ],
        ),
        (_, "energy") => pick(
            rng,
            &[
                "110千伏输变电工程",
                "抽水蓄能电站",
                "光伏发电项目",
                "天然气长输管道",
                "风电场",
            ],
        ),
        ("industry", _) => pick(
            rng,
            &[
                "富硒茶产业园",
                "新型材料产业园",
                "标准化厂房",
                "魔芋精深加工项目",
                "毛绒玩具文创产业园",
                "现代物流园",
            ],
        ),
        _ => pick(
            rng,
            &[
                "人民医院门诊楼",
                "第二高级中学",
                "保障性租赁住房",
                "社区工厂",
                "养老服务中心",
                "易地搬迁安置点配套",
            ],
        ),
    };
    format!("{county}{what}")
}

/// The ages, in days before the load, of the approved cases in turn (`None`: a recent case,
/// days old). Each is opened that long ago and takes its steps within its first days, so its
/// conversion was approved then: over five years, two to five years, one to two and under a
/// year, the age buckets of 批而未供, with room for the demo's supplies dated after them.
const APPROVAL_AGES: [Option<u32>; 8] = [
    Some(2_250),
    Some(1_460),
    None,
    Some(940),
    Some(600),
    Some(2_050),
    Some(480),
    Some(200),
];

impl PlannedCase {
    /// Whether the case was opened over a year before the load: an approval of past years,
    /// which took its steps within its first days.
    pub fn historic(&self) -> bool {
        self.age_days > 365
    }
}

/// The provincial development zones (省级以上开发区): one drawn around the parcels of each of
/// the first two approved cases of industrial projects (of any project when there are not two),
/// which are marked [`PlannedCase::in_development_zone`], so the demo supplies standard land
/// inside a zone as well as outside.
fn development_zones(
    projects: &[PlannedProject],
    cases: &mut [PlannedCase],
    parcels: &[Feature],
) -> Vec<Feature> {
    const NAMES: [&str; 2] = ["安康高新技术产业开发区（示例）", "省级经济开发区（示例）"];
    let industrial = |case: &PlannedCase| {
        projects
            .iter()
            .any(|p| p.key == case.project && p.category == "industry")
    };
    let eligible = |case: &PlannedCase| {
        matches!(case.plan, Plan::Supply | Plan::Registration | Plan::Completed)
            && !case.overdue
            && case.outside_boundary_use.is_none()
    };
    let mut chosen: Vec<usize> = (0..cases.len())
        .filter(|&i| eligible(&cases[i]) && industrial(&cases[i]))
        .take(NAMES.len())
        .collect();
    let others: Vec<usize> = (0..cases.len())
        .filter(|&i| eligible(&cases[i]) && !chosen.contains(&i))
        .take(NAMES.len() - chosen.len())
        .collect();
    chosen.extend(others);
    let mut zones = Vec::new();
    for (name, &i) in NAMES.iter().zip(&chosen) {
        let key = Prop::from(cases[i].key.clone());
        let points: Vec<(f64, f64)> = parcels
            .iter()
            .filter(|f| f.properties.get("case") == Some(&key))
            .filter_map(|f| match &f.shape {
                Shape::Polygon(rings) => rings.first().cloned(),
                Shape::Point(_) => None,
            })
            .flatten()
            .collect();
        let Some(first) = points.first() else {
            continue;
        };
        let (mut west, mut south, mut east, mut north) = (first.0, first.1, first.0, first.1);
        for &(x, y) in &points {
            (west, south, east, north) = (west.min(x), south.min(y), east.max(x), north.max(y));
        }
        // About 500 m around the parcels, corners cut: a zone, not the case's own outline.
        let (dx, dy) = (0.006, 0.0045);
        let (w, s, e, n) = (west - dx, south - dy, east + dx, north + dy);
        let ring = vec![
            (w + dx, s),
            (e - dx, s),
            (e, s + dy),
            (e, n - dy),
            (e - dx, n),
            (w + dx, n),
            (w, n - dy),
            (w, s + dy),
            (w + dx, s),
        ];
        cases[i].in_development_zone = true;
        zones.push(Feature::new(
            Shape::Polygon(vec![ring]),
            [("KFQMC", Prop::from(*name)), ("KFQJB", Prop::from("省级"))],
        ));
    }
    zones
}

#[allow(clippy::too_many_lines)] // one project after another, then its cases and their parcels
fn projects_and_cases(
    rng: &mut ChaCha8Rng,
    sizes: &Sizes,
    region: &Region,
    sites: &Sites,
) -> (Vec<PlannedProject>, Vec<PlannedCase>, Vec<Feature>) {
    let mut projects = Vec::new();
    let mut cases = Vec::new();
    let mut parcels = Vec::new();
    // Whether a leader has granted the green channel to a case yet; the first eligible one gets it.
    let mut granted = false;
    // Whether a case of linear works outside the towns was made yet; the first eligible one is.
    let mut linear_made = false;
    // Whether the approved case left to sit on a mineral deposit was made yet.
    let mut valid_deposit_made = false;
    // How many cases were drawn so far, kept or not (the first take every plan once).
    let mut planned = 0_usize;
    // How many cases planned to be approved (and not left to sit) were made so far.
    let mut approved_made = 0_usize;
    let total: u32 = Plan::WEIGHTS.iter().sum();
    for i in 0..sizes.projects as usize {
        let c = if i < COUNTIES.len() {
            i
        } else {
            rng.random_range(0..COUNTIES.len())
        };
        let county = &COUNTIES[c];
        let level = match rng.random_range(0..100) {
            0..25 => "provincial",
            25..60 => "municipal",
            _ => "county",
        };
        let (category, sector) = match rng.random_range(0..100) {
            0..45 => (
                "infrastructure",
                pick(rng, &["transport", "transport", "water", "energy"]),
            ),
            45..80 => ("industry", "industry"),
            _ => ("livelihood", pick(rng, &["livelihood", "other"])),
        };
        let on_key_list = level != "county";
        let key = format!("P{:04}", i + 1);
        projects.push(PlannedProject {
            category: category.to_owned(),
            county_code: county.code.to_owned(),
            key: key.clone(),
            level: level.to_owned(),
            name: project_name(rng, county.name, category, sector),
            new_start: rng.random_bool(0.6),
            on_key_list,
            planned_start: format!("{}-{:02}-01", sizes.year, rng.random_range(1..=12)),
            responsible_leader: on_key_list.then(|| pick(rng, &LEADERS).to_owned()),
            sector: sector.to_owned(),
            year: sizes.year,
        });
        let drawn = match rng.random_range(0..100) {
            0..20 => 0,
            20..90 => 1,
            _ => 2,
        };
        // Only a key project (on the green channel) is applied for in phases (segments, for a
        // road); another project's second case is drawn, so the rest of the region stays as the
        // seed made it, but not kept.
        let count = if on_key_list { drawn } else { drawn.min(1) };
        // The boxes of the parcels of the project's earlier phases.
        let mut earlier: Vec<[f64; 4]> = Vec::new();
        for phase in 0..drawn {
            let kept = phase < count;
            // The first cases take every plan once, the next two are left to sit, so even a
            // small demo has each; the rest are drawn by weight.
            let first = Plan::ALL.len();
            let plan = if planned < first {
                Plan::ALL[planned]
            } else if planned < first + 2 {
                [Plan::PreReview, Plan::Conversion][planned - first]
            } else {
                let mut roll = rng.random_range(0..total);
                let mut chosen = Plan::Draft;
                for (plan, weight) in Plan::ALL.iter().zip(Plan::WEIGHTS) {
                    if roll < weight {
                        chosen = *plan;
                        break;
                    }
                    roll -= weight;
                }
                chosen
            };
            let overdue =
                (rng.random_bool(0.2) || (first..first + 2).contains(&planned)) && plan.ends_on_a_clock();
            let case_key = format!("{key}-{}", phase + 1);
            let planned_phase = (count > 1).then(|| PlannedPhase::of(sector, phase));
            let title = match &planned_phase {
                Some(p) => format!("{}用地", p.name),
                None => "项目用地".to_owned(),
            };
            // Linear works (roads, water, power) may lie outside the urban boundary: some of
            // them take cultivated land in the countryside, and lock farmland offsets for it.
            let linear = matches!(sector, "transport" | "water" | "energy")
                && matches!(
                    plan,
                    Plan::Conversion | Plan::Supply | Plan::Registration | Plan::Completed
                )
                && !sites.cultivated.is_empty()
                && (rng.random_bool(0.6) || (!linear_made && plan != Plan::Conversion));
            linear_made |= linear && kept;
            // A road across a mineral deposit needs an overlay query: the conversion case left to
            // sit (its query runs late), the first approved case left to sit (approved weeks ago,
            // its answer is still valid) and the one approved 200 days back (its answer has
            // lapsed). The other linear works keep their cultivated land and its offsets.
            let approved_later = matches!(plan, Plan::Supply | Plan::Registration | Plan::Completed);
            let on_deposit = !plan.on_farmland()
                && !sites.deposits.is_empty()
                && (planned == first + 1
                    || (approved_later && overdue && !valid_deposit_made)
                    || (approved_later && !overdue && approved_made % APPROVAL_AGES.len() == 7));
            valid_deposit_made |= approved_later && overdue && on_deposit && kept;
            let parcel_count = rng.random_range(1..=3);
            let earlier_count = earlier.len();
            let base_angle = rng.random_range(0.0..2.0 * PI);
            let site = if plan.on_farmland() && !sites.farmland.is_empty() {
                Some(sites.farmland[rng.random_range(0..sites.farmland.len())])
            } else if linear {
                Some(sites.cultivated[rng.random_range(0..sites.cultivated.len())])
            } else {
                None
            };
            for j in 0..parcel_count {
                let centre = if let Some(near) = site {
                    // A line of parcels along the works, from the site towards the region's middle.
                    let step = if near.0 > 109.1 { -0.009 } else { 0.009 };
                    (near.0 + step * f64::from(j), near.1)
                } else {
                    let seat = county.seat;
                    let d = region.urban[c] * rng.random_range(0.05..0.3);
                    let a = base_angle + f64::from(j) * 2.0 * PI / 3.0;
                    (
                        seat.0 + d * a.cos() / seat.1.to_radians().cos(),
                        seat.1 + d * a.sin(),
                    )
                };
                // Drawn as in town first, so the seed's other draws stay where they were.
                let centre = if on_deposit {
                    let deposit = sites.deposits[cases.len() % sites.deposits.len()];
                    (deposit.0 + 0.004 * f64::from(j), deposit.1)
                } else {
                    centre
                };
                let star = Star {
                    centre,
                    radius: rng.random_range(0.0008..0.002),
                    vertices: rng.random_range(12..24),
                    stretch: rng.random_range(1.0..1.8),
                    heading: rng.random_range(0.0..PI),
                };
                let hole = rng.random_bool(0.1);
                let mut rings = star_polygon(rng, &star, hole);
                clear_of(&mut rings, &earlier[..earlier_count]);
                earlier.push(bbox(&rings));
                if !kept {
                    continue;
                }
                parcels.push(Feature::new(
                    Shape::Polygon(rings),
                    [
                        ("case", Prop::from(case_key.clone())),
                        ("name", Prop::from(format!("{case_key}-{}", j + 1))),
                    ],
                ));
            }
            let green_grant = !on_key_list && (rng.random_bool(0.1) || !granted);
            granted |= green_grant && kept;
            let drawn_age = if overdue {
                rng.random_range(45..75)
            } else {
                rng.random_range(1..12)
            };
            // Approved land ages: the approved cases were approved over the past years, in turn
            // (see APPROVAL_AGES), so the land-supply reports have approvals of every age.
            let approved =
                kept && matches!(plan, Plan::Supply | Plan::Registration | Plan::Completed) && !overdue;
            let age_days = if approved {
                approved_made += 1;
                APPROVAL_AGES[(approved_made - 1) % APPROVAL_AGES.len()].unwrap_or(drawn_age)
            } else {
                drawn_age
            };
            planned += 1;
            if !kept {
                continue;
            }
            cases.push(PlannedCase {
                outside_boundary_use: (linear || on_deposit).then(|| "linear_infrastructure".to_owned()),
                age_days,
                green_grant,
                in_development_zone: false,
                key: case_key,
                overdue,
                plan,
                project: key.clone(),
                title,
                allowed_activity: None,
                waits_for: None,
                phase: planned_phase,
            });
        }
    }
    (projects, cases, parcels)
}

/// Writes the demo region for `seed` and `sizes` into `out`: `layers/<kind>.geojson`,
/// `parcels.geojson` and `projects.json`. The same seed and sizes always write the same bytes.
///
/// # Errors
/// The folder or a file cannot be written.
pub fn generate(seed: u64, sizes: &Sizes, out: &Path) -> Result<GenerateReport, DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let region = Region {
        urban: COUNTIES.iter().map(|_| rng.random_range(0.03..0.045)).collect(),
    };
    let (mut layers, sites) = layers(&mut rng, sizes, &region)?;
    let (projects, mut cases, parcels) = projects_and_cases(&mut rng, sizes, &region, &sites);
    layers.push(("construction_land", construction_land(&mut rng, &parcels)));
    layers.push((
        "development_zone",
        development_zones(&projects, &mut cases, &parcels),
    ));

    let layer_dir = out.join("layers");
    std::fs::create_dir_all(&layer_dir)
        .map_err(|e| DemoError::io("creating the output folder", &layer_dir, e))?;
    let mut report = GenerateReport {
        layers: Vec::new(),
        projects: projects.len(),
        cases: cases.len(),
        parcels: parcels.len(),
    };
    for (kind, features) in &layers {
        let path = layer_dir.join(format!("{kind}.geojson"));
        std::fs::write(&path, feature_collection(features))
            .map_err(|e| DemoError::io("writing a layer", &path, e))?;
        report.layers.push((kind, features.len()));
    }
    let path = out.join("parcels.geojson");
    std::fs::write(&path, feature_collection(&parcels))
        .map_err(|e| DemoError::io("writing the parcels", &path, e))?;
    let plan = DemoPlan {
        cases,
        projects,
        seed,
        sizes: sizes.clone(),
    };
    let mut text = serde_json::to_string_pretty(&plan).map_err(|e| DemoError::Json {
        doing: "writing projects.json",
        message: e.to_string(),
    })?;
    text.push('\n');
    let path = out.join("projects.json");
    std::fs::write(&path, text).map_err(|e| DemoError::io("writing the projects", &path, e))?;
    Ok(report)
}
