//! The demo region of 安康市: generated control layers, a key-project list and cases in every
//! stage the rules allow, so that a first `make run` opens onto a living system.
//!
//! [`generate::generate`] writes files from a seed (byte-identical per seed and sizes);
//! [`load::load`] imports the layers through the layer import and makes the projects and cases
//! through the real router as the roles that would make them, once; [`setup`] does both unless
//! the database has a demo; [`tokens::ensure`] keeps a file of valid tokens, one per role and
//! one per county officer.

pub mod generate;
pub mod load;
pub mod shapes;
pub mod tokens;
mod waiting;

use std::{path::Path, sync::Arc};

use sqlx::PgPool;

use crate::config::Config;

use serde::{Deserialize, Serialize};

use shapes::Point;

/// The seed `make run` uses.
pub const DEFAULT_SEED: u64 = 8;

/// What [`setup`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Setup {
    /// The database had a demo; nothing was generated or loaded. The stored record.
    Kept(load::Loaded),
    /// The demo was generated and loaded.
    Loaded(load::LoadReport),
}

/// Generates the demo for `seed` and `sizes` into `dir` and loads it, unless the database has a
/// demo already (then nothing changes).
///
/// # Errors
/// A demo whose earlier load did not finish, and whatever [`generate::generate`] or
/// [`load::load`] fail with.
pub async fn setup(
    pool: &PgPool,
    config: Arc<Config>,
    seed: u64,
    sizes: &Sizes,
    dir: &Path,
) -> Result<Setup, DemoError> {
    if let Some(loaded) = load::loaded(pool).await? {
        return match loaded.state {
            load::LoadState::Loaded => Ok(Setup::Kept(loaded)),
            load::LoadState::Loading => Err(DemoError::Unfinished(Box::new(loaded))),
        };
    }
    generate::generate(seed, sizes, dir)?;
    Ok(Setup::Loaded(load::load(pool, config, dir).await?))
}

/// A county of the region and its seat (approximate, from public maps).
#[derive(Debug, Clone, Copy)]
pub struct County {
    /// Administrative code.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// The county seat, lon/lat.
    pub seat: Point,
}

/// The ten counties of 安康市 with their seats.
pub const COUNTIES: [County; 10] = [
    County {
        code: "610902",
        name: "汉滨区",
        seat: (109.03, 32.69),
    },
    County {
        code: "610921",
        name: "汉阴县",
        seat: (108.51, 32.89),
    },
    County {
        code: "610922",
        name: "石泉县",
        seat: (108.25, 33.04),
    },
    County {
        code: "610923",
        name: "宁陕县",
        seat: (108.31, 33.31),
    },
    County {
        code: "610924",
        name: "紫阳县",
        seat: (108.53, 32.52),
    },
    County {
        code: "610925",
        name: "岚皋县",
        seat: (108.90, 32.31),
    },
    County {
        code: "610926",
        name: "平利县",
        seat: (109.36, 32.39),
    },
    County {
        code: "610927",
        name: "镇坪县",
        seat: (109.53, 31.88),
    },
    County {
        code: "610929",
        name: "白河县",
        seat: (110.11, 32.81),
    },
    County {
        code: "610981",
        name: "旬阳市",
        seat: (109.37, 32.83),
    },
];

/// The Han River (汉江) through the region, west to east, simplified.
pub const HAN_RIVER: [Point; 13] = [
    (108.00, 33.10),
    (108.25, 33.02),
    (108.40, 32.86),
    (108.48, 32.70),
    (108.55, 32.55),
    (108.72, 32.58),
    (108.88, 32.62),
    (109.03, 32.67),
    (109.20, 32.76),
    (109.37, 32.81),
    (109.62, 32.77),
    (109.88, 32.74),
    (110.20, 32.82),
];

/// How much to generate. The defaults load in about 30–40 s on the 2-core machine with the dev
/// build (docs/demo.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// Cultivated-land patches (三调 DLTB polygons; about 5% garden or forest, which the import skips).
    #[arg(long, default_value_t = 20_000)]
    pub cultivated: u32,
    /// Mineral deposits (a third of them inside a whitelist area).
    #[arg(long, default_value_t = 40)]
    pub deposits: u32,
    /// Permanent-farmland patches (the first cultivated patches of classes 0101–0103).
    #[arg(long, default_value_t = 8_000)]
    pub farmland: u32,
    /// Geohazard points.
    #[arg(long, default_value_t = 800)]
    pub hazards: u32,
    /// Projects (about 60% of them on the provincial or municipal key-project list).
    #[arg(long, default_value_t = 300)]
    pub projects: u32,
    /// Ecological red-line bands along rivers and ridges.
    #[arg(long, default_value_t = 60)]
    pub redline: u32,
    /// The key-project list year.
    #[arg(long, default_value_t = 2026)]
    pub year: i32,
}

impl Sizes {
    /// A small region for tests: a few hundred patches and thirty projects.
    pub fn small() -> Self {
        Self {
            cultivated: 400,
            deposits: 6,
            farmland: 150,
            hazards: 40,
            projects: 30,
            redline: 9,
            year: 2026,
        }
    }
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            cultivated: 20_000,
            deposits: 40,
            farmland: 8_000,
            hazards: 800,
            projects: 300,
            redline: 60,
            year: 2026,
        }
    }
}

/// Why the demo could not be generated or loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or folder could not be read or written.
    #[error("{doing} {path}: {source}")]
    Io {
        /// What was being done.
        doing: &'static str,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A demo file is not what the generator writes.
    #[error("{doing}: {message}")]
    Json {
        /// What was being done.
        doing: &'static str,
        /// The cause.
        message: String,
    },
    /// The region has no room for as many non-overlapping patches as asked for.
    #[error("the region has room for about {room} cultivated patches, not {asked}; ask for fewer")]
    NoRoom {
        /// Patches asked for.
        asked: u32,
        /// Patches placed before giving up.
        room: usize,
    },
    /// A layer import stored nothing.
    #[error("importing the {kind} layer: {message}")]
    Import {
        /// The layer kind.
        kind: &'static str,
        /// The cause.
        message: String,
    },
    /// The database has a demo (loaded, or being loaded) already.
    #[error("the database already has a demo ({0}); nothing was loaded")]
    AlreadyLoaded(Box<load::Loaded>),
    /// A load is running elsewhere, or stopped half-way and the database holds part of a demo.
    #[error(
        "a demo load has not finished ({0}): if another `landuse demo setup` or `make run` is \
         still loading, wait for it; if it stopped, the database holds part of a demo: load into \
         a fresh database (scripts/db.sh clean, or drop and create it)"
    )]
    Unfinished(Box<load::Loaded>),
    /// Users or tokens could not be made.
    #[error("demo users: {0}")]
    Admin(#[from] crate::admin::AdminError),
    /// The service refused a request the demo relies on.
    #[error("{doing}: the service answered {status}: {body}")]
    Refused {
        /// What was being done.
        doing: String,
        /// The status code.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// A database failure.
    #[error(transparent)]
    Db(#[from] crate::store::DbError),
}

impl DemoError {
    fn io(doing: &'static str, path: &Path, error: std::io::Error) -> Self {
        DemoError::Io {
            doing,
            path: path.display().to_string(),
            source: error,
        }
    }
}
