//! The per-client sliding-window rate limit: never more than `limit` admitted requests in any
//! 60 seconds, with the numbers the `X-RateLimit-*` headers report.
//!
//! A client is an IPv4 address, or an IPv6 /64 network ([`client_key`]). [`Limiter`] is the one
//! interface the edge asks; it counts in this instance's memory ([`RateLimiter`]) or, with
//! `RATE_LIMIT_REDIS_URL`, in Redis ([`RedisWindow`]), so that every instance sharing that Redis
//! counts the same requests. While Redis does not answer, the instance decides alone with its
//! own table and says so in the log and in `/health/ready`. The header numbers are computed in
//! one place ([`Decision::admitted`], [`Decision::refused`]) whichever backend counted.

#[cfg(test)]
mod conformance;
mod link;
mod local;
pub mod scratch;
mod shared;

use std::net::{IpAddr, Ipv6Addr};

pub use local::RateLimiter;
pub use shared::{
    DEFAULT_CALL_TIMEOUT_MS, DEFAULT_PREFIX, RedisSettings, RedisWindow, WindowClock, index_key,
    log_key,
};

/// The window every limit is counted over.
pub const WINDOW_MS: u64 = 60_000;

/// How many clients the limiter tracks at most by default.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// The key a client's requests are counted under: an IPv4 address as it is, an IPv6 address by
/// its /64 prefix. One machine or home network is typically given a whole /64 and can pick any
/// address in it, so counting IPv6 addresses one by one would let it mint fresh limits at will.
/// An IPv4 address seen through a dual-stack socket (`::ffff:a.b.c.d`) counts as that IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    const PREFIX_64: u128 = !0 << 64;
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & PREFIX_64)),
    }
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Admitted and counted.
    Admitted {
        limit: u32,
        remaining: u32,
        /// Unix second at which the oldest counted request leaves the window.
        reset: u64,
    },
    /// Refused and not counted.
    Refused {
        limit: u32,
        /// Unix second at which the oldest counted request leaves the window.
        reset: u64,
        /// Whole seconds (at least 1) until a request would be admitted.
        retry_after: u64,
    },
}

impl Decision {
    /// Admitted as the `count`th request of the client's window, whose oldest request leaves
    /// it at `frees_at_ms` (Unix milliseconds).
    pub fn admitted(limit: u32, count: u32, frees_at_ms: u64) -> Self {
        Self::Admitted {
            limit,
            remaining: limit.saturating_sub(count),
            reset: frees_at_ms.div_ceil(1000),
        }
    }

    /// Refused at `now_ms` until `frees_at_ms` (Unix milliseconds), when a request would be
    /// admitted again.
    pub fn refused(limit: u32, frees_at_ms: u64, now_ms: u64) -> Self {
        Self::Refused {
            limit,
            reset: frees_at_ms.div_ceil(1000),
            retry_after: frees_at_ms.saturating_sub(now_ms).div_ceil(1000).max(1),
        }
    }

    /// Whether the request was admitted.
    pub fn is_admitted(&self) -> bool {
        matches!(self, Self::Admitted { .. })
    }
}

/// Where requests are being counted now, as `/health/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In Redis, shared with every instance using the same Redis and prefix.
    Redis,
    /// In this instance's memory alone (Redis is configured but does not answer).
    Local,
}

impl Backend {
    /// The name `/health/ready` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Local => "local",
        }
    }
}

/// The rate limit the edge asks: this instance's table, and the Redis window when configured.
pub struct Limiter {
    local: RateLimiter,
    shared: Option<RedisWindow>,
}

impl Limiter {
    /// Counts in this instance's memory only: `limit` requests per client per minute (positive),
    /// at most `max_clients` clients.
    pub fn local(limit: u32, max_clients: usize) -> Self {
        Self {
            local: RateLimiter::new(limit, max_clients),
            shared: None,
        }
    }

    /// Counts in Redis as `settings` say, with the same limit and client cap, falling back to
    /// this instance's memory while Redis does not answer. Tries Redis once before returning
    /// (logging it when Redis is down); fails only for a URL that is not a Redis URL.
    pub async fn with_redis(
        limit: u32,
        max_clients: usize,
        settings: RedisSettings,
    ) -> Result<Self, String> {
        let shared = RedisWindow::connect(limit, max_clients, settings).await?;
        Ok(Self {
            local: RateLimiter::new(limit, max_clients),
            shared: Some(shared),
        })
    }

    /// Decides about one request from the client at `ip` arriving at `now_ms` (Unix
    /// milliseconds, this instance's clock). Redis decides when it answers within its timeout;
    /// the requests it admits are noted locally too, so a fallback starts from this instance's
    /// recent requests rather than from nothing.
    pub async fn check(&self, ip: IpAddr, now_ms: u64) -> Decision {
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(ip, now_ms).await
        {
            if decision.is_admitted() {
                self.local.record(ip, now_ms);
            }
            return decision;
        }
        self.local.check(ip, now_ms)
    }

    /// Where requests are counted now; `None` without Redis configured.
    pub fn backend(&self) -> Option<Backend> {
        self.shared.as_ref().map(|shared| {
            if shared.connected() {
                Backend::Redis
            } else {
                Backend::Local
            }
        })
    }

    /// How many clients this instance's table holds now.
    pub fn tracked_clients(&self) -> usize {
        self.local.tracked_clients()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix_and_ipv4_by_address() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:3::1"), "2001:db8:1:3::");
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::1"), "::");
    }

    #[test]
    fn header_numbers_round_up_to_whole_seconds() {
        assert_eq!(
            Decision::admitted(100, 1, 60_001),
            Decision::Admitted {
                limit: 100,
                remaining: 99,
                reset: 61
            }
        );
        assert_eq!(
            Decision::refused(100, 60_001, 59_999),
            Decision::Refused {
                limit: 100,
                reset: 61,
                retry_after: 1
            },
            "never a Retry-After of 0"
        );
        assert_eq!(
            Decision::refused(5, 60_000, 1_000),
            Decision::Refused {
                limit: 5,
                reset: 60,
                retry_after: 59
            }
        );
    }
}
