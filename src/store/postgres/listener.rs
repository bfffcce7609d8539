//! The `LISTEN` connection behind a PostgreSQL store's change feed: one per instance, turning
//! the change channel's notifications into [`Change`]s in commit order.
//!
//! A notification connection that is lost (the database restarted, the network dropped it, or
//! a periodic check found it silent and dead) loses whatever was announced meanwhile. The
//! listener reconnects with backoff and, once it listens again, sends [`Change::Gap`]: every
//! live subscriber is told `SUBSCRIPTION_LAGGED` and resumes with `after`, rather than missing
//! events without knowing.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::notice::NoticeReader;
use crate::events::{Change, ChangeSink};

/// How long the connection may stay quiet before the listener checks it still works.
const QUIET_CHECK: Duration = Duration::from_secs(10);
/// How long that check, or a reconnection attempt, may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff between reconnection attempts: doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Connects a listener to `channel` and starts forwarding its notifications into `sink`.
/// Returns once the channel is listened to, so no change committed afterwards is missed.
pub async fn start(
    pool: PgPool,
    channel: String,
    sink: ChangeSink,
) -> Result<JoinHandle<()>, sqlx::Error> {
    let listener = listen(&pool, &channel).await?;
    Ok(tokio::spawn(run(listener, pool, channel, sink)))
}

async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection is re-established here, so a gap is always noticed and told.
    listener.eager_reconnect(false);
    listener.listen(channel).await?;
    Ok(listener)
}

async fn run(mut listener: PgListener, pool: PgPool, channel: String, sink: ChangeSink) {
    loop {
        let lost = forward(&mut listener, &sink).await;
        tracing::warn!(
            reason = %lost,
            "lost the database notification connection; live subscribers will be told to resume"
        );
        drop(listener);
        listener = reconnect(&pool, &channel).await;
        tracing::info!("database notifications are listened to again");
        sink.send(Change::Gap);
    }
}

/// Forwards notifications until the connection is lost; returns why. A message announced in
/// parts is joined by a reader that lives as long as the connection.
async fn forward(listener: &mut PgListener, sink: &ChangeSink) -> String {
    let mut reader = NoticeReader::default();
    loop {
        match tokio::time::timeout(QUIET_CHECK, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => {
                if let Some(change) = reader.read(notification.payload()) {
                    sink.send(change);
                }
            }
            Ok(Ok(None)) => return "the connection closed".into(),
            Ok(Err(error)) => return error.to_string(),
            Err(_quiet) => {
                if let Err(reason) = check(listener).await {
                    return reason;
                }
            }
        }
    }
}

/// A round trip on the listening connection itself.
async fn check(listener: &mut PgListener) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(listener)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("a check on the quiet connection timed out".into()),
    }
}

/// Listens again, retrying with backoff for as long as it takes.
async fn reconnect(pool: &PgPool, channel: &str) -> PgListener {
    let mut backoff = FIRST_RETRY;
    loop {
        match tokio::time::timeout(CHECK_TIMEOUT, listen(pool, channel)).await {
            Ok(Ok(listener)) => return listener,
            Ok(Err(error)) => tracing::warn!(
                %error,
                retry_in_ms = backoff.as_millis() as u64,
                "cannot listen to database notifications yet"
            ),
            Err(_) => tracing::warn!(
                retry_in_ms = backoff.as_millis() as u64,
                "listening to database notifications timed out"
            ),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LAST_RETRY);
    }
}
