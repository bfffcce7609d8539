//! Logging set-up shared by the binary and tests.
//!
//! Lines are formatted on the task that logs them and written to stdout by a thread of its
//! own (`tracing-appender`'s non-blocking writer), so a request never waits on a slow
//! terminal or pipe for its access-log line. The queue is not lossy: if stdout stops taking
//! lines for long enough to fill it (128,000 lines), logging waits rather than drop any.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Keeps the log writer running; dropping it writes out every queued line. Hold it until the
/// process is about to exit, so nothing logged at shutdown is lost.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

/// Installs the global subscriber: level from `RUST_LOG` (default `info`), pretty or JSON lines
/// (one object per line; pretty lines coloured only when stdout is a terminal), written through the non-blocking writer. Calling it again (as
/// several tests do) keeps the first subscriber.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("chatgate-log")
        .finish(std::io::stdout());
    // Colours only for a terminal: escape codes cost a fifth of an access-log line to write
    // and are noise in a file or a log shipper.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(writer);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    LogGuard {
        _writer: installed.is_ok().then_some(guard),
    }
}
