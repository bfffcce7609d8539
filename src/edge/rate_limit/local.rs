//! The limiter each instance keeps in its own memory: the default, and the fallback of the
//! Redis window while Redis does not answer.
//!
//! Each client keeps the times of its admitted requests still inside the window (at most
//! `limit` of them). The table holds at most `max_clients` clients; when it is full and every
//! client is still inside its window, a new client is refused rather than forgetting an old
//! one early. A sweep for expired clients only runs once one can actually have expired, so a
//! flood of new clients cannot make each request scan the table.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use parking_lot::Mutex;

use super::{Decision, WINDOW_MS, client_key};

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
        let mut table = self.table.lock();
        let log = match table.log_of(client_key(ip), now_ms, self.max_clients) {
            Ok(log) => log,
            Err(free_at) => return Decision::refused(self.limit, free_at, now_ms),
        };
        if log.len() < self.limit as usize {
            log.push_back(now_ms);
            let oldest = *log.front().expect("just pushed");
            Decision::admitted(self.limit, log.len() as u32, oldest + WINDOW_MS)
        } else {
            let oldest = *log.front().expect("a full log is not empty");
            Decision::refused(self.limit, oldest + WINDOW_MS, now_ms)
        }
    }

    /// Notes a request another limiter admitted for the client at `ip` at `now_ms`, so that
    /// this table knows the client's recent requests if it has to decide alone later. Keeps at
    /// most `limit` times per client (the oldest go first) and never grows past `max_clients`.
    pub fn record(&self, ip: IpAddr, now_ms: u64) {
        let mut table = self.table.lock();
        if let Ok(log) = table.log_of(client_key(ip), now_ms, self.max_clients) {
            if log.len() >= self.limit as usize {
                log.pop_front();
            }
            log.push_back(now_ms);
        }
    }

    /// How many clients the table holds now.
    pub fn tracked_clients(&self) -> usize {
        self.table.lock().clients.len()
    }
}

impl Table {
    /// The client's log with the times that left the window dropped, or when the table is full
    /// of clients still inside their window, the Unix ms at which the first of them leaves.
    fn log_of(
        &mut self,
        client: IpAddr,
        now_ms: u64,
        max_clients: usize,
    ) -> Result<&mut VecDeque<u64>, u64> {
        if !self.clients.contains_key(&client) && self.clients.len() >= max_clients {
            self.sweep(now_ms);
            if self.clients.len() >= max_clients {
                return Err(self.earliest_expiry);
            }
        }
        let log = self.clients.entry(client).or_default();
        while log.front().is_some_and(|&t| t + WINDOW_MS <= now_ms) {
            log.pop_front();
        }
        Ok(log)
    }

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
    use super::super::DEFAULT_MAX_CLIENTS;
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    const T0: u64 = 1_700_000_000_000;

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

    #[test]
    fn recorded_requests_count_when_the_table_decides_alone_later() {
        let limiter = RateLimiter::new(3, 1);
        for i in 0..5 {
            limiter.record(ip(1), T0 + i);
        }
        limiter.record(ip(2), T0);
        assert_eq!(limiter.tracked_clients(), 1, "the table stays at its cap");
        assert_eq!(
            limiter.check(ip(1), T0 + 10),
            Decision::Refused {
                limit: 3,
                reset: (T0 + 2 + WINDOW_MS).div_ceil(1000),
                retry_after: 60
            },
            "only the last three recorded requests are kept"
        );
        assert!(matches!(
            limiter.check(ip(1), T0 + 2 + WINDOW_MS),
            Decision::Admitted { remaining: 0, .. }
        ));
    }
}
