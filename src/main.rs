//! The chatgate binary: read the configuration, start logging, serve until a signal.

use clap::Parser;

use chatgate::config::Config;

/// A request is mostly short-lived small allocations; mimalloc serves them faster than the
/// system allocator (BENCHMARKS.md, "Requests over HTTP").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
