//! The window kept in Redis, so that every instance using the same Redis and key prefix counts
//! the same requests: per client a sorted set of admission times, plus one index of clients
//! scored by their latest admission (the same cap on tracked clients as the local table). Both
//! change in one Lua script per request (`EVALSHA`, loaded again by itself after a Redis
//! restart), which Redis runs alone: no update is lost and no more than the limit is admitted
//! whatever the concurrency. Every key expires one window after its latest admission.
//!
//! Each call has a bounded time ([`RedisSettings::call_timeout`]); a call that fails or runs
//! out of time leaves the request to the local table, and the connection is reopened in the
//! background ([`super::link`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::Script;

use super::link::Link;
use super::{Decision, WINDOW_MS, client_key};

/// The key prefix used unless `RATE_LIMIT_REDIS_PREFIX` names another.
pub const DEFAULT_PREFIX: &str = "chatgate:ratelimit:";

/// How many milliseconds one request waits for Redis before it is decided locally, unless
/// `RATE_LIMIT_REDIS_TIMEOUT_MS` says otherwise.
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 100;

/// The script every request runs.
const WINDOW_SCRIPT: &str = include_str!("window.lua");

/// Whose clock the shared window counts time by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowClock {
    /// Redis's own (`TIME`): one clock for every instance, however theirs drift.
    Redis,
    /// The instant each request is checked at: for tests that move time by hand.
    Caller,
}

/// How to reach Redis and how patient to be with it. Holds the URL, which may carry a
/// password: never logged.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://[user:password@]host[:port][/db]`.
    pub url: String,
    /// Put before every key; instances with the same prefix share their counts.
    pub prefix: String,
    /// How long one request waits for Redis before it is decided locally.
    pub call_timeout: Duration,
    /// The first wait between reconnection attempts; it doubles up to `retry_max`.
    pub retry_min: Duration,
    /// The longest wait between reconnection attempts.
    pub retry_max: Duration,
    pub clock: WindowClock,
}

impl RedisSettings {
    /// Defaults for `url` and `prefix`: 100 ms per call, retries from 0.1 s doubling to 5 s,
    /// Redis's clock.
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: prefix.into(),
            call_timeout: Duration::from_millis(DEFAULT_CALL_TIMEOUT_MS),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            clock: WindowClock::Redis,
        }
    }
}

/// The sliding window in Redis for one limit.
pub struct RedisWindow {
    link: Arc<Link>,
    script: Script,
    limit: u32,
    max_clients: usize,
    prefix: String,
    index_key: String,
    /// Sets this instance's admissions apart from every other's (members of a sorted set are
    /// unique, and two instances may admit a request in the same millisecond).
    instance: String,
    sequence: AtomicU64,
    call_timeout: Duration,
    clock: WindowClock,
}

impl RedisWindow {
    /// A window of `limit` requests per client per minute over at most `max_clients` clients,
    /// in the Redis `settings` name; tried once before returning (see [`Link::open`]). Fails
    /// only when the URL is not a Redis URL.
    pub async fn connect(
        limit: u32,
        max_clients: usize,
        settings: RedisSettings,
    ) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| format!("the rate limit's Redis URL is not usable: {e}"))?;
        let script = Script::new(WINDOW_SCRIPT);
        let link = Link::open(
            client,
            script.clone(),
            settings.retry_min,
            settings.retry_max,
        )
        .await;
        Ok(Self {
            link,
            script,
            limit,
            max_clients,
            index_key: index_key(&settings.prefix),
            prefix: settings.prefix,
            instance: format!("{:x}", uuid::Uuid::new_v4().as_u64_pair().0),
            sequence: AtomicU64::new(0),
            call_timeout: settings.call_timeout,
            clock: settings.clock,
        })
    }

    /// Redis's decision about one request from `ip` (`now_ms` counts only with
    /// [`WindowClock::Caller`]), or `None` when Redis is down or did not answer in time.
    pub async fn check(&self, ip: IpAddr, now_ms: u64) -> Option<Decision> {
        let (generation, mut connection) = self.link.current()?;
        let client = client_key(ip).to_string();
        let admission = format!(
            "{}:{}",
            self.instance,
            self.sequence.fetch_add(1, Ordering::Relaxed)
        );
        let mut invocation = self.script.key(self.log_key(&client));
        invocation
            .key(&self.index_key)
            .arg(self.limit)
            .arg(WINDOW_MS)
            .arg(self.max_clients)
            .arg(admission)
            .arg(&client);
        if self.clock == WindowClock::Caller {
            invocation.arg(now_ms);
        }
        let call = invocation.invoke_async::<(u8, u32, i64, i64)>(&mut connection);
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok((admitted, count, frees_at, now))) => {
                let (frees_at, now) = (millis(frees_at), millis(now));
                Some(if admitted == 1 {
                    Decision::admitted(self.limit, count, frees_at)
                } else {
                    Decision::refused(self.limit, frees_at, now)
                })
            }
            Ok(Err(error)) => {
                self.link.lost(generation, &error.to_string());
                None
            }
            Err(_) => {
                let reason = format!("no answer within {:?}", self.call_timeout);
                self.link.lost(generation, &reason);
                None
            }
        }
    }

    /// Whether Redis is counting now.
    pub fn connected(&self) -> bool {
        self.link.connected()
    }

    /// The key of one client's log (`client` as [`client_key`] names it).
    pub fn log_key(&self, client: &str) -> String {
        log_key(&self.prefix, client)
    }
}

/// The key of one client's log under `prefix` (`client` as [`client_key`] names it): what an
/// operator looks up to see a client's recent requests.
pub fn log_key(prefix: &str, client: &str) -> String {
    format!("{prefix}ip:{client}")
}

/// The key of the index of clients under `prefix`.
pub fn index_key(prefix: &str) -> String {
    format!("{prefix}clients")
}

fn millis(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::rate_limit::scratch::ScratchPrefix;

    #[tokio::test]
    async fn a_url_that_is_not_a_redis_url_is_refused_at_start() {
        let settings = RedisSettings::new("http://cache.internal:6379", DEFAULT_PREFIX);
        let error = RedisWindow::connect(100, 10, settings)
            .await
            .err()
            .expect("refused");
        assert!(
            error.starts_with("the rate limit's Redis URL is not usable"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn every_key_lives_under_the_prefix_and_expires_within_a_window() {
        let Some(keys) = ScratchPrefix::create().await else {
            return;
        };
        let window = RedisWindow::connect(3, 10, keys.settings())
            .await
            .expect("a valid URL");
        let (a, b): (IpAddr, IpAddr) = (
            "203.0.113.7".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        );
        for _ in 0..4 {
            window.check(a, 0).await.expect("Redis decides");
        }
        window.check(b, 0).await.expect("Redis decides");
        let names = keys.keys().await;
        let expected = [
            index_key(&keys.prefix),
            window.log_key("2001:db8::"),
            window.log_key("203.0.113.7"),
        ];
        assert_eq!(names, expected);
        let mut connection = keys.connection().await;
        for name in names {
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&name)
                .query_async(&mut connection)
                .await
                .expect("PTTL answers");
            assert!(
                ttl > 0 && ttl <= WINDOW_MS as i64,
                "{name} expires in {ttl} ms"
            );
        }
        let logged: usize = redis::cmd("ZCARD")
            .arg(window.log_key("203.0.113.7"))
            .query_async(&mut connection)
            .await
            .expect("ZCARD answers");
        assert_eq!(logged, 3, "a refused request is not written");
    }
}
