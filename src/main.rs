//! The chatgate binary: read the configuration, start logging, serve until a signal.

use clap::Parser;

use chatgate::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    // Held to the end: dropping it writes out every line still queued.
    let _logs = chatgate::telemetry::init(config.log_format);
    match chatgate::app::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "chatgate stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
