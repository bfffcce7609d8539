//! Throwaway PostgreSQL schemas for tests, on the server at `CHATGATE_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`). Test support only: used by the store
//! conformance suite and the integration tests, never by the server.
//!
//! Each [`ScratchSchema`] is a fresh, empty schema named `cg_test_<pid>_<n>`, dropped with
//! everything in it when the value is dropped (also when the test panics); schemas left behind
//! by a killed run are dropped by the next run. Without a reachable server,
//! [`ScratchSchema::create`] returns `None` after saying "skipped: <reason>" past the test
//! harness's capture, and the test passes; under `CI=true` that is a failure instead.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{PostgresSettings, PostgresStore};
use crate::domain::Clock;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::OnceCell;

/// The server tests use unless `CHATGATE_TEST_DATABASE_URL` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL.
pub fn server_url() -> String {
    std::env::var("CHATGATE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Settings that give up quickly, so tests of an unreachable database stay short.
pub fn quick_settings() -> PostgresSettings {
    PostgresSettings {
        max_connections: 8,
        acquire_timeout: Duration::from_secs(1),
        operation_timeout: Duration::from_secs(5),
        startup_patience: Duration::from_secs(5),
    }
}

/// A schema of its own for one test, dropped on drop.
pub struct ScratchSchema {
    /// `cg_test_<pid>_<n>`.
    pub name: String,
    server: PgConnectOptions,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Whether this process already dropped the schemas of runs that died.
static SWEPT: OnceCell<()> = OnceCell::const_new();

/// Says why a PostgreSQL test did not run, past the harness's capture so it shows; fails under
/// `CI=true`.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("PostgreSQL tests cannot run under CI=true: {reason}");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a PostgreSQL test")
        .to_owned();
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}

impl ScratchSchema {
    /// A fresh schema, or `None` (reported as skipped) when no server answers.
    pub async fn create() -> Option<ScratchSchema> {
        let url = server_url();
        let server = PgConnectOptions::from_str(&url)
            .expect("CHATGATE_TEST_DATABASE_URL is a PostgreSQL URL")
            .disable_statement_logging();
        let mut admin =
            match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&server))
                .await
            {
                Ok(Ok(connection)) => connection,
                Ok(Err(error)) => {
                    skip(&format!("PostgreSQL is not reachable at {url} ({error})"));
                    return None;
                }
                Err(_) => {
                    skip(&format!("PostgreSQL at {url} did not answer within 5 s"));
                    return None;
                }
            };
        SWEPT.get_or_init(|| sweep_dead_runs(&mut admin)).await;
        let name = format!(
            "cg_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .expect("the test server lets us create a schema");
        let _ = admin.close().await;
        Some(ScratchSchema { name, server })
    }

    /// Connection options whose tables live in this schema.
    pub fn options(&self) -> PgConnectOptions {
        self.server
            .clone()
            .options([("search_path", self.name.as_str())])
    }

    /// A `DATABASE_URL` for the binary whose tables live in this schema.
    pub fn url(&self) -> String {
        let base = server_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-c%20search_path%3D{}", self.name)
    }

    /// A store over this schema (migrated), reading `clock`.
    pub async fn store(&self, clock: Arc<dyn Clock>) -> PostgresStore {
        self.store_with(self.options(), clock).await
    }

    /// A store over this schema with `settings`, reading `clock`.
    pub async fn store_with_settings(
        &self,
        settings: PostgresSettings,
        clock: Arc<dyn Clock>,
    ) -> PostgresStore {
        PostgresStore::connect_with(self.options(), settings, clock)
            .await
            .expect("the test schema migrates")
    }

    /// A store over a fresh schema that drops the schema when it is dropped; `None` (reported
    /// as skipped) when no server answers. The store conformance suite's factory.
    pub async fn fresh_store(clock: Arc<dyn Clock>) -> Option<PostgresStore> {
        let schema = Self::create().await?;
        let store = schema.store(clock).await;
        Some(store.owning(schema))
    }

    /// A store over `options` (this schema's, perhaps through a proxy), reading `clock`.
    pub async fn store_with(
        &self,
        options: PgConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> PostgresStore {
        PostgresStore::connect_with(options, quick_settings(), clock)
            .await
            .expect("the test schema migrates")
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: the cleanup gets a thread and runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a cleanup runtime");
            runtime.block_on(async move {
                let Ok(mut admin) = PgConnection::connect_with(&server).await else {
                    return;
                };
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut admin)
                    .await;
                let _ = admin.close().await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Drops `cg_test_<pid>_…` schemas whose process is gone (a run that was killed).
async fn sweep_dead_runs(admin: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'cg\\_test\\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if pid.is_empty() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
            .execute(&mut *admin)
            .await;
    }
}
