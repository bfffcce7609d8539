//! A key prefix of its own per test on the Redis at `CHATGATE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`). Test support only: used by the limiter's own tests and the
//! integration tests, never by the server.
//!
//! Each [`ScratchPrefix`] is `chatgate-test:<pid>:<n>:`, so tests running at once never see
//! each other's keys; its keys are deleted when it is dropped (also when the test panics), and
//! those of a killed run expire by themselves within a window. Without a reachable Redis,
//! [`ScratchPrefix::create`] returns `None` after saying "skipped: <reason>" past the test
//! harness's capture, and the test passes; under `CI=true` that is a failure instead.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::Commands;

use super::{RedisSettings, WindowClock};

/// The Redis tests use unless `CHATGATE_TEST_REDIS_URL` names another.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How long a test's Redis call may take: tests share a busy machine, and a call that runs out
/// of time would be decided locally instead, which is not what most tests look at.
pub const PATIENT_CALL: Duration = Duration::from_secs(5);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The test Redis's URL.
pub fn server_url() -> String {
    std::env::var("CHATGATE_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Says why a Redis test did not run, past the harness's capture so it shows; fails under
/// `CI=true`.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Redis tests cannot run under CI=true: {reason}");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a Redis test")
        .to_owned();
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}

/// One test's keys on the test Redis, deleted on drop.
pub struct ScratchPrefix {
    pub url: String,
    /// `chatgate-test:<pid>:<n>:`.
    pub prefix: String,
    client: redis::Client,
}

impl ScratchPrefix {
    /// A fresh prefix, or `None` (reported as skipped) when Redis does not answer.
    pub async fn create() -> Option<ScratchPrefix> {
        let url = server_url();
        let client = redis::Client::open(url.as_str()).expect("CHATGATE_TEST_REDIS_URL is a URL");
        let ping = async {
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        match tokio::time::timeout(Duration::from_secs(5), ping).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                skip(&format!("Redis is not reachable at {url} ({error})"));
                return None;
            }
            Err(_) => {
                skip(&format!("Redis at {url} did not answer within 5 s"));
                return None;
            }
        }
        let prefix = format!(
            "chatgate-test:{}:{}:",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Some(ScratchPrefix {
            url,
            prefix,
            client,
        })
    }

    /// Settings for a limiter under this prefix: Redis's clock, and patient calls
    /// ([`PATIENT_CALL`]).
    pub fn settings(&self) -> RedisSettings {
        RedisSettings {
            call_timeout: PATIENT_CALL,
            ..RedisSettings::new(&self.url, &self.prefix)
        }
    }

    /// Like [`Self::settings`], counting time by the clock each request is checked at.
    pub fn settings_with_caller_clock(&self) -> RedisSettings {
        RedisSettings {
            clock: WindowClock::Caller,
            ..self.settings()
        }
    }

    /// A connection for looking at the keys.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.client
            .get_multiplexed_async_connection()
            .await
            .expect("the test Redis answers")
    }

    /// Every key under this prefix, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut self.connection().await)
            .await
            .expect("KEYS answers");
        keys.sort();
        keys
    }
}

impl Drop for ScratchPrefix {
    fn drop(&mut self) {
        let Ok(mut connection) = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
        else {
            return;
        };
        let keys: Vec<String> = match connection.scan_match(format!("{}*", self.prefix)) {
            Ok(keys) => keys.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = connection.del(keys);
        }
    }
}
