//! The per-client sliding-window limiter: never more than `limit` admitted requests in any
//! 60 seconds, with the numbers the `X-RateLimit-*` headers report.
//!
//! A client is an IPv4 address, or an IPv6 /64 network ([`client_key`]).
//!
//! Each client keeps the times of its admitted requests still inside the window (at most
//! `limit` of them). The table holds at most `max_clients` clients; when it is full and every
//! client is still inside its window, a new client is refused rather than forgetting an old
//! one early. A sweep for expired clients only runs once one can actually have expired, so a
//! flood of new clients cannot make each request scan the table.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};

use parking_lot::Mutex;

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

/// A thread-safe sliding-log limiter keyed by [`client_key`].
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    max_clients: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    clients: HashMap<IpAddr, VecDeque<u64>>,
    /// No client can have left its window before this instant (Unix ms); sweeps wait for it.
    earliest_expiry: u64,
}

fn unix_second_ceil(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

impl RateLimiter {
    /// A limiter admitting `limit` requests per client per minute (`limit` must be positive).
    pub fn new(limit: u32, max_clients: usize) -> Self {
        assert!(
            limit > 0,
            "a zero limit means limiting is off; build no limiter"
        );
        Self {
            limit,
            max_clients,
            table: Mutex::new(Table {
                clients: HashMap::new(),
                earliest_expiry: 0,
            }),
        }
    }

    /// Decides about one request from the client at `ip` arriving at `now_ms` (Unix
    /// milliseconds).
    pub fn check(&self, ip: IpAddr, now_ms: u64) -> Decision {
        let client = client_key(ip);
        let mut table = self.table.lock();
        if !table.clients.contains_key(&client) && table.clients.len() >= self.max_clients {
            table.sweep(now_ms);
            if table.clients.len() >= self.max_clients {
                let free_at = table.earliest_expiry;
                return Decision::Refused {
                    limit: self.limit,
                    reset: unix_second_ceil(free_at),
                    retry_after: free_at.saturating_sub(now_ms).div_ceil(1000).max(1),
                };
            }
        }
        let log = table.clients.entry(client).or_default();
        while log.front().is_some_and(|&t| t + WINDOW_MS <= now_ms) {
            log.pop_front();
        }
        if log.len() < self.limit as usize {
            log.push_back(now_ms);
            let oldest = *log.front().expect("just pushed");
            let remaining = self.limit - log.len() as u32;
            Decision::Admitted {
                limit: self.limit,
                remaining,
                reset: unix_second_ceil(oldest + WINDOW_MS),
            }
        } else {
            let frees_at = log.front().expect("a full log is not empty") + WINDOW_MS;
            Decision::Refused {
                limit: self.limit,
                reset: unix_second_ceil(frees_at),
                retry_after: (frees_at - now_ms).div_ceil(1000).max(1),
            }
        }
    }

    /// How many clients the table holds now.
    pub fn tracked_clients(&self) -> usize {
        self.table.lock().clients.len()
    }
}

impl Table {
    /// Forgets clients whose every request has left the window, if any can have.
    fn sweep(&mut self, now_ms: u64) {
        if now_ms < self.earliest_expiry {
            return;
        }
        self.clients
            .retain(|_, log| log.back().is_some_and(|&t| t + WINDOW_MS > now_ms));
        self.earliest_expiry = self
            .clients
            .values()
            .filter_map(|log| log.back())
            .map(|&t| t + WINDOW_MS)
            .min()
            .unwrap_or(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    const T0: u64 = 1_700_000_000_000;

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
    fn addresses_in_one_ipv6_64_share_a_limit() {
        let limiter = RateLimiter::new(1, 10);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert!(matches!(limiter.check(a, T0), Decision::Admitted { .. }));
        assert!(matches!(limiter.check(b, T0), Decision::Refused { .. }));
        assert!(matches!(
            limiter.check(elsewhere, T0),
            Decision::Admitted { .. }
        ));
    }

    #[test]
    fn admits_up_to_the_limit_and_counts_down() {
        let limiter = RateLimiter::new(3, 10);
        let remaining: Vec<_> = (0..3)
            .map(|i| match limiter.check(ip(1), T0 + i * 10) {
                Decision::Admitted {
                    remaining, reset, ..
                } => {
                    assert_eq!(reset, (T0 + WINDOW_MS) / 1000);
                    remaining
                }
                refused => panic!("refused early: {refused:?}"),
            })
            .collect();
        assert_eq!(remaining, vec![2, 1, 0]);
        assert_eq!(
            limiter.check(ip(1), T0 + 1_000),
            Decision::Refused {
                limit: 3,
                reset: (T0 + WINDOW_MS) / 1000,
                retry_after: 59
            }
        );
    }

    #[test]
    fn never_admits_more_than_the_limit_in_any_window() {
        let limiter = RateLimiter::new(5, 10);
        let mut admitted = Vec::new();
        // A request every 700 ms for three minutes, bursts included.
        for i in 0..260u64 {
            let now = T0 + i * 700;
            if matches!(limiter.check(ip(7), now), Decision::Admitted { .. }) {
                admitted.push(now);
            }
        }
        for (i, &start) in admitted.iter().enumerate() {
            let in_window = admitted[i..]
                .iter()
                .take_while(|&&t| t < start + WINDOW_MS)
                .count();
            assert!(
                in_window <= 5,
                "{in_window} admitted within 60 s of {start}"
            );
        }
        assert!(
            admitted.len() >= 15,
            "the window slides: {}",
            admitted.len()
        );
    }

    #[test]
    fn refused_requests_are_not_counted_and_the_window_slides() {
        let limiter = RateLimiter::new(2, 10);
        limiter.check(ip(1), T0);
        limiter.check(ip(1), T0 + 30_000);
        for s in 1..30 {
            assert!(matches!(
                limiter.check(ip(1), T0 + 30_000 + s * 1000),
                Decision::Refused { .. }
            ));
        }
        assert!(matches!(
            limiter.check(ip(1), T0 + WINDOW_MS),
            Decision::Admitted { remaining: 0, .. }
        ));
    }

    #[test]
    fn clients_are_limited_independently() {
        let limiter = RateLimiter::new(1, 10);
        assert!(matches!(
            limiter.check(ip(1), T0),
            Decision::Admitted { .. }
        ));
        assert!(matches!(
            limiter.check(ip(2), T0),
            Decision::Admitted { .. }
        ));
        assert!(matches!(limiter.check(ip(1), T0), Decision::Refused { .. }));
    }

    #[test]
    fn a_full_table_refuses_new_clients_until_one_expires() {
        let limiter = RateLimiter::new(10, 100);
        for n in 0..100 {
            limiter.check(ip(n), T0 + u64::from(n));
        }
        assert_eq!(
            limiter.check(ip(1_000), T0 + 5_000),
            Decision::Refused {
                limit: 10,
                reset: (T0 + WINDOW_MS) / 1000,
                retry_after: 55
            }
        );
        assert!(matches!(
            limiter.check(ip(5), T0 + 5_000),
            Decision::Admitted { .. }
        ));
        assert!(matches!(
            limiter.check(ip(1_000), T0 + WINDOW_MS + 1),
            Decision::Admitted { .. }
        ));
        assert!(limiter.tracked_clients() <= 100);
    }

    #[test]
    fn a_hundred_and_fifty_thousand_clients_leave_the_table_at_its_cap() {
        let limiter = RateLimiter::new(100, DEFAULT_MAX_CLIENTS);
        let refused = (0..150_000u32)
            .filter(|&n| {
                matches!(
                    limiter.check(ip(n), T0 + u64::from(n) / 10),
                    Decision::Refused { .. }
                )
            })
            .count();
        assert_eq!(limiter.tracked_clients(), DEFAULT_MAX_CLIENTS);
        assert_eq!(refused, 50_000);
    }
}
