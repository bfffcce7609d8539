//! Opening the store: the pool's limits, waiting for a database that is still starting, and the
//! embedded migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::errors::is_unavailable;
use super::{PostgresStore, listener};
use crate::domain::Clock;
use crate::events::change_feed;

/// The schema, compiled into the binary and applied at start.
static MIGRATOR: Migrator = sqlx::migrate!("src/store/postgres/migrations");

/// How the store talks to its database.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// Most connections this instance opens.
    pub max_connections: u32,
    /// How long a request waits for a free (or new) connection before it gets
    /// `SERVICE_UNAVAILABLE`.
    pub acquire_timeout: Duration,
    /// How long one store operation may take in all before it gets `SERVICE_UNAVAILABLE`;
    /// well below the 30 s request timeout, so a request needing two or three still answers.
    pub operation_timeout: Duration,
    /// How long [`PostgresStore::connect`] keeps retrying a database that cannot be reached.
    pub startup_patience: Duration,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(8),
            startup_patience: Duration::from_secs(30),
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(sqlx::Error),
    #[error("the database could not be reached: {0}")]
    Unreachable(sqlx::Error),
    #[error("the database schema could not be migrated: {0}")]
    Migration(sqlx::migrate::MigrateError),
}

impl PostgresStore {
    /// Opens the store at `url` (`postgres://user:password@host:port/database`, optionally
    /// `?options=-c%20search_path%3D<schema>` to keep the tables in another schema) with the
    /// default settings.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self, ConnectError> {
        let options = PgConnectOptions::from_str(url).map_err(ConnectError::InvalidUrl)?;
        Self::connect_with(options, PostgresSettings::default(), clock).await
    }

    /// Opens the store: waits (up to `startup_patience`) for the database to answer, applies
    /// the migrations this build has not applied yet (PostgreSQL's advisory lock makes
    /// instances that start together take turns, and the second finds nothing left to do), and
    /// starts listening to the change channel before it returns.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: PostgresSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConnectError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options);
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match MIGRATOR.run(&pool).await {
                Ok(()) => break,
                Err(sqlx::migrate::MigrateError::Execute(error))
                    if is_unavailable(&error) && started.elapsed() < settings.startup_patience =>
                {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64,
                        "the database is not reachable yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(sqlx::migrate::MigrateError::Execute(error)) if is_unavailable(&error) => {
                    return Err(ConnectError::Unreachable(error));
                }
                Err(error) => return Err(ConnectError::Migration(error)),
            }
        }
        let channel: String = sqlx::query_scalar("SELECT change_channel()")
            .fetch_one(&pool)
            .await
            .map_err(ConnectError::Unreachable)?;
        let (sink, feed) = change_feed();
        let listener = listener::start(pool.clone(), channel.clone(), sink)
            .await
            .map_err(ConnectError::Unreachable)?;
        tracing::info!(
            migrations = MIGRATOR.iter().count(),
            %channel,
            "connected to PostgreSQL; schema up to date; listening to its changes"
        );
        Ok(PostgresStore {
            pool,
            clock,
            settings,
            last_now: AtomicI64::new(i64::MIN),
            channel,
            feed,
            listener,
            owned_schema: None,
        })
    }
}
