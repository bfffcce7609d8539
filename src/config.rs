//! Runtime configuration: every setting a flag with an environment fallback (docs/api.md,
//! "Configuration").

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::metrics::http::Exposure;
use crate::server::ServerSettings;

/// Which assistant answers messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssistantKind {
    Builtin,
    Openai,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// chatgate's settings.
#[derive(Debug, Clone, Parser)]
#[command(name = "chatgate", version, about)]
pub struct Config {
    /// Bind address.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,
    /// Port; 0 picks any free port (the chosen one is logged).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Requests per minute per client (an IPv4 address or an IPv6 /64); 0 turns limiting off.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 100)]
    pub rate_limit: u32,
    /// Count the rate limit in this Redis (`redis://…`), shared by every instance using it;
    /// unset: each instance counts alone.
    #[arg(long, env = "RATE_LIMIT_REDIS_URL", hide_env_values = true)]
    pub rate_limit_redis_url: Option<String>,
    /// Prefix of the rate limit's Redis keys; instances with the same prefix count together.
    #[arg(long, env = "RATE_LIMIT_REDIS_PREFIX", default_value = crate::edge::rate_limit::DEFAULT_PREFIX)]
    pub rate_limit_redis_prefix: String,
    /// Milliseconds one request waits for Redis; a request that waits longer is counted on
    /// this instance, and so are the ones after it until Redis answers again.
    #[arg(
        long,
        env = "RATE_LIMIT_REDIS_TIMEOUT_MS",
        default_value_t = crate::edge::rate_limit::DEFAULT_CALL_TIMEOUT_MS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub rate_limit_redis_timeout_ms: u64,
    /// Comma-separated allowed CORS origins.
    #[arg(long, env = "CORS_ORIGINS", default_value = "*", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Comma-separated API keys; empty means no authentication.
    #[arg(
        long,
        env = "API_KEYS",
        default_value = "",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Take the client IP from the last X-Forwarded-For entry.
    #[arg(
        long,
        env = "TRUST_PROXY",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub trust_proxy: bool,
    /// Unset: in-memory store; postgres://…: PostgreSQL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Which assistant answers messages.
    #[arg(long, env = "ASSISTANT", value_enum, default_value_t = AssistantKind::Builtin)]
    pub assistant: AssistantKind,
    /// The OpenAI-compatible assistant's settings (used with `--assistant openai`).
    #[command(flatten)]
    pub openai: crate::assistant::openai::OpenAiArgs,
    /// Log line format; the level comes from RUST_LOG (default info).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Seconds to drain in-flight work on SIGINT / SIGTERM.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// Milliseconds the server goes on accepting and answering after SIGINT / SIGTERM, with
    /// `/health/ready` already 503, before it stops accepting (time for a load balancer to
    /// notice); the shutdown timeout starts after it.
    #[arg(long, env = "SHUTDOWN_DRAIN_MS", default_value_t = 0)]
    pub shutdown_drain_ms: u64,
    /// Serve `GET /metrics` (Prometheus text); `false` records nothing and serves no route.
    #[arg(
        long,
        env = "METRICS",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub metrics: bool,
    /// Serve `/metrics` on this address (e.g. 127.0.0.1:9100) without a key, and not on the
    /// main port.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Log one line per answered request; `false` keeps every other log line.
    #[arg(
        long,
        env = "ACCESS_LOG",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub access_log: bool,
    /// Most WebSockets open at once (`/graphql` and `/ws` together); more get 503.
    #[arg(long, env = "MAX_WEBSOCKETS", default_value_t = crate::ws::DEFAULT_MAX_SOCKETS)]
    pub max_websockets: usize,
    /// Most operations one WebSocket runs at once (GraphQL operations, `/ws` joins); one more
    /// is refused with an error for that operation.
    #[arg(long, env = "MAX_SOCKET_OPERATIONS", default_value_t = crate::ws::DEFAULT_MAX_OPERATIONS)]
    pub max_socket_operations: usize,
    /// Deepest selection nesting a GraphQL query may have, leaf fields included.
    #[arg(long, env = "MAX_DEPTH", default_value_t = crate::graphql::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,
    /// Largest cost a GraphQL query may have (each field 1, pages times their size, each
    /// top-level field 10,000 more).
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = crate::graphql::DEFAULT_MAX_COMPLEXITY)]
    pub max_complexity: usize,
    /// Seconds a client may take to send a request head (from connecting, or from the first
    /// byte after an idle spell); slower connections are closed.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT",
        default_value_t = crate::server::DEFAULT_HEADER_READ_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout: u64,
    /// Seconds a keep-alive connection may sit idle between requests before it is closed.
    #[arg(
        long,
        env = "KEEP_ALIVE_TIMEOUT",
        default_value_t = crate::server::DEFAULT_KEEP_ALIVE_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub keep_alive_timeout: u64,
}

impl Config {
    /// The Redis settings of the rate limit, when it is to be counted in Redis.
    pub fn rate_limit_redis(&self) -> Option<crate::edge::rate_limit::RedisSettings> {
        let url = self.rate_limit_redis_url.as_ref()?;
        Some(crate::edge::rate_limit::RedisSettings {
            call_timeout: Duration::from_millis(self.rate_limit_redis_timeout_ms),
            ..crate::edge::rate_limit::RedisSettings::new(url, &self.rate_limit_redis_prefix)
        })
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }

    /// The GraphQL query limits as configured.
    pub fn query_limits(&self) -> crate::graphql::QueryLimits {
        crate::graphql::QueryLimits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
        }
    }

    /// The HTTP connection timeouts and the drain delay.
    pub fn server_settings(&self) -> ServerSettings {
        ServerSettings {
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout),
            drain_delay: Duration::from_millis(self.shutdown_drain_ms),
        }
    }

    /// Where `/metrics` is served: off with `--metrics false`, else on `--metrics-addr` when
    /// given, else on the main port.
    pub fn metrics_exposure(&self) -> Exposure {
        match (self.metrics, self.metrics_addr) {
            (false, _) => Exposure::Off,
            (true, Some(address)) => Exposure::Own(address),
            (true, None) => Exposure::Main,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::parse_from(["chatgate"]);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!((c.port, c.rate_limit, c.shutdown_timeout), (3000, 100, 10));
        assert_eq!((c.header_read_timeout, c.keep_alive_timeout), (10, 60));
        assert_eq!(c.cors_origins, vec!["*"]);
        assert!(!crate::edge::api_keys::ApiKeys::new(c.api_keys.clone()).enabled());
        assert!(!c.trust_proxy && c.database_url.is_none());
        assert!(c.rate_limit_redis_url.is_none());
        assert_eq!(c.rate_limit_redis_prefix, "chatgate:ratelimit:");
        assert_eq!(c.rate_limit_redis_timeout_ms, 100);
        assert_eq!(
            (c.assistant, c.log_format),
            (AssistantKind::Builtin, LogFormat::Pretty)
        );
        assert_eq!(c.query_limits(), crate::graphql::QueryLimits::default());
        assert_eq!(c.max_socket_operations, 100);
        assert_eq!(c.metrics_exposure(), Exposure::Main);
        assert!(c.access_log);
        assert_eq!(c.server_settings().drain_delay, Duration::ZERO);
    }

    #[test]
    fn metrics_go_to_their_own_address_or_off() {
        let own = Config::parse_from(["chatgate", "--metrics-addr", "127.0.0.1:9100"]);
        assert_eq!(
            own.metrics_exposure(),
            Exposure::Own("127.0.0.1:9100".parse().expect("an address"))
        );
        let off = Config::parse_from([
            "chatgate",
            "--metrics",
            "false",
            "--metrics-addr",
            "[::1]:1",
        ]);
        assert_eq!(off.metrics_exposure(), Exposure::Off);
        let quiet = Config::parse_from(["chatgate", "--access-log", "false"]);
        assert!(!quiet.access_log);
        let drain = Config::parse_from(["chatgate", "--shutdown-drain-ms", "2500"]);
        assert_eq!(
            drain.server_settings().drain_delay,
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn query_limits_come_from_flags() {
        let c = Config::parse_from(["chatgate", "--max-depth", "5", "--max-complexity", "900"]);
        assert_eq!(
            c.query_limits(),
            crate::graphql::QueryLimits {
                max_depth: 5,
                max_complexity: 900
            }
        );
    }

    #[test]
    fn trust_proxy_may_be_a_bare_flag_or_a_boolish_value() {
        assert!(Config::parse_from(["chatgate", "--trust-proxy"]).trust_proxy);
        assert!(Config::parse_from(["chatgate", "--trust-proxy", "1"]).trust_proxy);
        assert!(!Config::parse_from(["chatgate", "--trust-proxy", "false"]).trust_proxy);
        assert!(Config::parse_from(["chatgate", "--trust-proxy", "--port", "1"]).trust_proxy);
    }

    #[test]
    fn flags_parse_lists_and_booleans() {
        let c = Config::parse_from([
            "chatgate",
            "--api-keys",
            "a,b",
            "--trust-proxy",
            "true",
            "--log-format",
            "json",
        ]);
        assert_eq!(c.api_keys, vec!["a", "b"]);
        assert!(c.trust_proxy);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn the_rate_limit_redis_settings_come_from_flags() {
        let c = Config::parse_from([
            "chatgate",
            "--rate-limit-redis-url",
            "redis://cache.internal:6380/2",
            "--rate-limit-redis-prefix",
            "staging:rl:",
            "--rate-limit-redis-timeout-ms",
            "250",
        ]);
        assert_eq!(
            c.rate_limit_redis_url.as_deref(),
            Some("redis://cache.internal:6380/2")
        );
        assert_eq!(c.rate_limit_redis_prefix, "staging:rl:");
        assert_eq!(c.rate_limit_redis_timeout_ms, 250);
    }
}
