//! The `landuse` command line: `serve`, `migrate`, and the admin commands.

use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand};

use crate::{
    admin,
    app::{shutdown_signal, Application},
    clock::Clock,
    config::{Config, DatabaseArgs, LogFormat, ServeArgs, TimerArgs},
    db,
    demo::{self, Sizes},
};

/// Land-use approval service for a municipal natural-resources bureau.
#[derive(Debug, Parser)]
#[command(name = "landuse", version, about)]
pub struct Cli {
    /// Log line format.
    #[arg(
        long,
        env = "LANDUSE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGTERM or SIGINT.
    Serve {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// The HTTP side.
        #[command(flatten)]
        serve: ServeArgs,
        /// The sweeper running beside it.
        #[command(flatten)]
        timers: TimerArgs,
    },
    /// Raise due alerts, deliver webhooks and take the weekly dispatch snapshot: every
    /// interval until SIGTERM or SIGINT, or once with `--once` (for cron).
    Sweep {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// The sweeper.
        #[command(flatten)]
        timers: TimerArgs,
        /// Sweep and deliver once, print what was done as JSON, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Apply the migrations that are not yet applied.
    Migrate {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Load the reference data: counties, the working-day calendar, default time limits, land
    /// classes, layer kinds and the default verdict rules.
    Seed {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage users.
    User {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The construction-quota ledger: `landuse quota import --year 2026 --file quotas.csv`.
    Quota {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: crate::quota::cli::QuotaCommand,
    },
    /// Control layers: `landuse layer import --kind permanent_farmland --file X.geojson`.
    Layer {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: LayerCommand,
    },
    /// The working-day calendar: `landuse calendar import --year 2027 --file notice.json`.
    Calendar {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// What to do.
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// The demo region: generate its files, load them, or both (`make run` runs `setup`).
    Demo {
        /// What to do.
        #[command(subcommand)]
        command: DemoCommand,
    },
}

impl Command {
    /// Whether this command runs as a service whose output is its log (`serve`, `sweep`);
    /// the others print a result on standard output and log to standard error.
    pub fn is_service(&self) -> bool {
        matches!(self, Self::Serve { .. } | Self::Sweep { .. })
    }
}

/// `landuse calendar …`
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Load one year's State Council notice (its weekday `holidays` and weekend
    /// `adjusted_workdays`, in the shape of one year of `seeds/cn-workdays-2023-2026.json`),
    /// recompute the stored deadlines it changes and correct their alerts. A year already
    /// loaded is replaced. Nothing is written when any date is refused.
    Import {
        /// The year the notice is for; every date must be in it.
        #[arg(long)]
        year: i32,
        /// The notice file (JSON).
        #[arg(long)]
        file: PathBuf,
    },
}

/// `landuse demo …`
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Write the demo region's layers, projects and cases; the same seed and sizes write the
    /// same bytes.
    Generate {
        /// The seed.
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
        /// The folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// How much.
        #[command(flatten)]
        sizes: Sizes,
    },
    /// Load a generated demo: layers through the layer import, projects and cases through the
    /// API as the roles that would make them. Refused when a demo is loaded already.
    Load {
        /// The folder `generate` wrote.
        dir: PathBuf,
        /// Where to write the demo tokens as JSON.
        #[arg(long, default_value = ".data/demo-tokens.json")]
        tokens: PathBuf,
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// The service settings the demo's requests run under.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Generate and load the demo unless the database has one; either way make sure the
    /// tokens file holds a valid token per role and per county officer.
    Setup {
        /// The seed.
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
        /// The folder to generate into.
        #[arg(long, default_value = ".data/demo")]
        dir: PathBuf,
        /// Where to write the demo tokens as JSON.
        #[arg(long, default_value = ".data/demo-tokens.json")]
        tokens: PathBuf,
        /// How much.
        #[command(flatten)]
        sizes: Sizes,
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
        /// The service settings the demo's requests run under.
        #[command(flatten)]
        serve: ServeArgs,
    },
}

/// `landuse layer …`
#[derive(Debug, Subcommand)]
pub enum LayerCommand {
    /// Import a GeoJSON feature collection (RFC 7946, or with a legacy `crs` member for EPSG:4490,
    /// 4524, 4525, 4545, 4546) as a new current version of a layer, all or nothing, streamed.
    Import {
        /// The layer kind.
        #[arg(
            long,
            help = "layer kind: permanent_farmland, ecological_redline, urban_boundary, cultivated_land, \
                    qinling_core, qinling_key, qinling_general, nature_reserve_core, nature_reserve_general, \
                    geohazard, mineral_deposit, mineral_whitelist"
        )]
        kind: String,
        /// The GeoJSON file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// The jurisdiction the layer covers: a county, or the city (610900) for all its counties.
        #[arg(long, default_value = "610900")]
        jurisdiction: String,
        /// Draw and keep the new version's vector tiles of matrices 0 to this one once the import
        /// has committed, so that maps' first views of it are served without drawing.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=18))]
        tiles_up_to: u8,
        /// Draw no tiles ahead: every tile is drawn on its first request.
        #[arg(long)]
        no_tiles: bool,
    },
    /// Print the count and page statements the server sends for a control layer's OGC items,
    /// with their parameters in order, as JSON: the SQL floor of `make bench` binds them itself,
    /// so that it runs exactly what the service runs.
    Statements,
}

/// `landuse user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with a role (officer, planner, reviewer, leader, admin, gis).
    Add {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// The role.
        #[arg(long)]
        role: String,
        /// A county the user serves (repeat for several); required for officers.
        #[arg(long = "county")]
        counties: Vec<String>,
    },
}

/// `landuse token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user and print it (it is shown only this once).
    Issue {
        /// The user's name.
        #[arg(long)]
        user: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        label: String,
        /// Days until it expires; without this it does not expire.
        #[arg(long)]
        days: Option<u32>,
    },
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the command failed with, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            database,
            serve,
            timers,
        } => {
            let settings = crate::timers::TimerSettings::from_args(&timers)?;
            let config = Config { database, serve };
            tracing::info!(?config, ?timers, "starting");
            let app = Application::build(config).await?;
            if let Some(start) = timers.clock_start {
                tracing::warn!(%start, "LANDUSE_CLOCK_START is set: the clock is not the system's (testing and drills only)");
                app.state().clock.set(start);
            }
            let sweeper = crate::timers::spawn(app.state().db.clone(), app.state().clock.clone(), settings);
            let addr = app.local_addr()?;
            tracing::info!(%addr, "listening");
            let served = app.run_until(shutdown_signal()).await;
            if let Some(sweeper) = sweeper {
                sweeper.stop().await;
            }
            served
        }
        Command::Sweep {
            database,
            timers,
            once,
        } => {
            let settings = crate::timers::TimerSettings::from_args(&timers)?;
            let pool = db::lazy_pool(&database)?;
            let clock = timers.clock_start.map_or_else(Clock::system, Clock::starting_at);
            if once {
                let report = crate::timers::run_once(&pool, &clock, &settings).await?;
                println!("{}", serde_json::to_string(&report)?);
                return Ok(());
            }
            let Some(sweeper) = crate::timers::spawn(pool, clock, settings) else {
                anyhow::bail!("LANDUSE_SWEEP_INTERVAL_S is 0: give an interval, or --once");
            };
            shutdown_signal().await;
            sweeper.stop().await;
            Ok(())
        }
        Command::Migrate { database } => {
            let pool = owner_pool(&database)?;
            db::MIGRATOR
                .run(&pool)
                .await
                .map_err(|e| anyhow::anyhow!("migrating {}: {e}", database.database_url.redacted()))?;
            let count = db::MIGRATOR.iter().count();
            println!(
                "migrations: {count} applied to {}",
                database.database_url.redacted()
            );
            Ok(())
        }
        Command::Seed { database } => seed(&database).await,
        Command::User {
            database,
            command: UserCommand::Add { name, role, counties },
        } => {
            let mut conn = connect(&database).await?;
            let id = admin::add_user(&mut conn, &name, &role, &counties).await?;
            println!("user {name} ({role}) added with id {id}");
            Ok(())
        }
        Command::Token {
            database,
            command: TokenCommand::Issue { user, label, days },
        } => {
            let mut conn = connect(&database).await?;
            let secret = admin::issue_token(&mut conn, &user, &label, days).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Quota { database, command } => {
            let mut conn = connect(&database).await?;
            crate::quota::cli::run(&mut conn, command, chrono::Utc::now()).await
        }
        Command::Layer {
            command: LayerCommand::Statements,
            ..
        } => {
            println!(
                "{}",
                serde_json::to_string(&crate::store::ogc::layer_statements())?
            );
            Ok(())
        }
        Command::Layer { database, command } => import_layer(&database, command).await,
        Command::Calendar {
            database,
            command: CalendarCommand::Import { year, file },
        } => import_calendar(&database, year, &file).await,
        Command::Demo { command } => run_demo(command).await,
    }
}

async fn run_demo(command: DemoCommand) -> anyhow::Result<()> {
    match command {
        DemoCommand::Generate { seed, out, sizes } => {
            let report = demo::generate::generate(seed, &sizes, &out)?;
            println!("demo seed {seed} written to {}: {report}", out.display());
            Ok(())
        }
        DemoCommand::Load {
            dir,
            tokens,
            database,
            serve,
        } => {
            let pool = owner_pool(&database)?;
            let config = Arc::new(Config { database, serve });
            let report = demo::load::load(&pool, config, &dir).await?;
            println!("{report}");
            let tokens = demo::tokens::ensure(&pool, &tokens).await?;
            println!("{tokens}");
            Ok(())
        }
        DemoCommand::Setup {
            seed,
            dir,
            tokens,
            sizes,
            database,
            serve,
        } => {
            let pool = owner_pool(&database)?;
            let config = Arc::new(Config { database, serve });
            match demo::setup(&pool, config, seed, &sizes, &dir).await? {
                demo::Setup::Kept(loaded) => println!("demo kept: {loaded}"),
                demo::Setup::Loaded(report) => println!("{report}"),
            }
            let tokens = demo::tokens::ensure(&pool, &tokens).await?;
            println!("{tokens}");
            Ok(())
        }
    }
}

async fn seed(database: &DatabaseArgs) -> anyhow::Result<()> {
    let mut conn = connect(database).await?;
    let report = admin::seed(&mut conn).await?;
    let limits = if report.time_limits {
        "set to the defaults"
    } else {
        "kept"
    };
    let rules = if report.verdict_rules {
        "set to the defaults"
    } else {
        "kept"
    };
    println!(
        "seeded {} counties, {} new calendar years, {} land classes, {} layer kinds; time limits {limits}, \
         verdict rules {rules}",
        report.counties, report.calendar_years, report.land_classes, report.layer_kinds
    );
    Ok(())
}

async fn import_layer(database: &DatabaseArgs, command: LayerCommand) -> anyhow::Result<()> {
    use landuse_spatial::store::{self, ImportError, ImportOptions};
    let LayerCommand::Import {
        kind,
        file,
        jurisdiction,
        tiles_up_to,
        no_tiles,
    } = command
    else {
        anyhow::bail!("`landuse layer statements` reads no database");
    };
    let tiles_up_to = (!no_tiles).then_some(tiles_up_to);
    let file = file.as_path();
    let kind = landuse_domain::check::LayerKind::parse(&kind).map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
    let jurisdiction = landuse_domain::county::CountyCode::parse(&jurisdiction)
        .map_err(|e| anyhow::anyhow!("--jurisdiction: {e}"))?;
    let pool = owner_pool(database)?;
    match store::import_geojson_file(&pool, kind, jurisdiction, file, &ImportOptions::default()).await {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report)?);
            if let (Some(up_to), Some(version)) = (tiles_up_to, report.version_id) {
                // The report stays the last line of stdout (scripts read it); this goes to stderr.
                let ids = [kind.code().to_owned(), version.to_string()];
                let seeded = crate::ogc::tiles::source::seed(&pool, &ids, up_to).await?;
                eprintln!("tiles up to matrix {up_to}: {}", serde_json::to_string(&seeded)?);
            }
            Ok(())
        }
        Err(ImportError::FeaturesRefused(report)) => {
            for refusal in &report.refused {
                eprintln!("{}: {}", file.display(), refusal.reason);
            }
            anyhow::bail!(
                "{} of {} features refused; nothing was imported",
                report.refused_count,
                report.features_read
            )
        }
        Err(other) => Err(anyhow::anyhow!("{}: {other}", file.display())),
    }
}

/// `landuse calendar import`: the year is read and checked before anything is written, and
/// stored with every recomputed deadline in one transaction.
async fn import_calendar(database: &DatabaseArgs, year: i32, file: &std::path::Path) -> anyhow::Result<()> {
    use sqlx::Connection;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let listed = landuse_domain::notice::parse_year(year, &text)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was loaded", file.display()))?;
    let mut conn = connect(database).await?;
    let mut tx = conn.begin().await?;
    let loader = crate::calendar::Loader {
        user_id: None,
        role: landuse_domain::role::Role::Admin,
    };
    let report = crate::calendar::load_year(&mut tx, year, listed, loader, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was loaded", file.display()))?;
    tx.commit().await?;
    println!(
        "loaded {year}: {} holidays, {} adjusted working days (version {}); the calendar covers \
         up to {}; {} deadlines recomputed, {} alerts corrected, {} overlay query due dates recomputed",
        report.calendar.holidays.len(),
        report.calendar.adjusted_workdays.len(),
        report.calendar.version,
        report.covered_until,
        report.deadlines.len(),
        report.alerts.len(),
        report.overlay_due.len()
    );
    Ok(())
}

/// A pool of the login role itself, for the operator's commands (migrate, import, demo):
/// they act as the owner and never switch to the application's role (`LANDUSE_DB_ROLE`),
/// which row-level security would confine to no county.
fn owner_pool(database: &DatabaseArgs) -> anyhow::Result<sqlx::PgPool> {
    Ok(db::lazy_pool(&DatabaseArgs {
        db_role: None,
        ..database.clone()
    })?)
}

async fn connect(database: &DatabaseArgs) -> anyhow::Result<sqlx::PgConnection> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(database.database_url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", database.database_url.redacted()))
}
