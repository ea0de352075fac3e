//! The `landuse` binary.

use clap::Parser;
use landuse_api::{cli, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let to = if cli.command.is_service() {
        telemetry::LogTo::Stdout
    } else {
        telemetry::LogTo::Stderr
    };
    telemetry::init(cli.log_format, to);
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("landuse: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
