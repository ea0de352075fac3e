//! The `landuse` command line: `serve`, `migrate`, and the admin commands.

use clap::{Parser, Subcommand};

use crate::{
    app::{shutdown_signal, Application},
    config::{Config, DatabaseArgs, LogFormat, ServeArgs},
    db,
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
    },
    /// Apply the migrations that are not yet applied.
    Migrate {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the command failed with, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { database, serve } => {
            let config = Config { database, serve };
            tracing::info!(?config, "starting");
            let app = Application::build(config).await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, "listening");
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate { database } => {
            let pool = db::lazy_pool(&database)?;
            db::MIGRATOR.run(&pool).await.map_err(|e| {
                anyhow::anyhow!("migrating {}: {e}", database.database_url.redacted())
            })?;
            let count = db::MIGRATOR.iter().count();
            println!(
                "migrations: {count} applied to {}",
                database.database_url.redacted()
            );
            Ok(())
        }
    }
}
