//! Millisecond timestamps and the injectable clock.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};

/// A UTC instant with millisecond precision, stored as milliseconds since the Unix epoch
/// (eight bytes per timestamp keeps records lean). Renders as `2025-10-04T12:00:00.000Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// An instant from milliseconds since the Unix epoch.
    pub fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// The next instant a change may carry: now, or one millisecond after `previous` when the
    /// clock has not moved past it, so `updatedAt` strictly increases on every change.
    pub fn next_after(previous: Timestamp, now: Timestamp) -> Timestamp {
        now.max(Timestamp(previous.0 + 1))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0)
            .expect("stored timestamps are within chrono's range")
    }

    /// Parses an RFC 3339 instant (any offset), truncating below milliseconds.
    pub fn parse(raw: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|dt| Self(dt.timestamp_millis()))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where "now" comes from; injected so tests and the built-in assistant are deterministic.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(Utc::now().timestamp_millis())
    }
}

/// A clock that only moves when told to; for tests that assert exact timestamps.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.0))
    }

    pub fn set(&self, to: Timestamp) {
        self.0.store(to.0, Ordering::SeqCst);
    }

    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_milliseconds_and_z() {
        let t = Timestamp::parse("2025-10-04T12:00:00.5+00:00").unwrap();
        assert_eq!(t.to_string(), "2025-10-04T12:00:00.500Z");
        assert_eq!(serde_json::to_value(t).unwrap(), "2025-10-04T12:00:00.500Z");
    }

    #[test]
    fn next_after_moves_at_least_one_millisecond() {
        let t = Timestamp::from_millis(1_000);
        assert_eq!(Timestamp::next_after(t, t), Timestamp::from_millis(1_001));
        assert_eq!(
            Timestamp::next_after(t, Timestamp::from_millis(900)),
            Timestamp::from_millis(1_001)
        );
        assert_eq!(
            Timestamp::next_after(t, Timestamp::from_millis(5_000)),
            Timestamp::from_millis(5_000)
        );
    }
}
