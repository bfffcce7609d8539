//! Millisecond timestamps and the injectable clock.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

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

/// The length of a rendered timestamp with a four-digit year: `2025-10-04T12:00:00.000Z`.
const RENDERED_LEN: usize = 24;

impl Timestamp {
    /// The RFC 3339 text written into `buf`, for years 0 to 9999 (every instant a client can
    /// send or the clock gives): every answer renders timestamps, and chrono's general
    /// formatter (an allocated string through `fmt`) was a sixth of a page of chats. Other
    /// years return `None` and render through chrono.
    fn render(self, buf: &mut [u8; RENDERED_LEN]) -> Option<&str> {
        let at = self.to_datetime().naive_utc();
        let (date, time) = (at.date(), at.time());
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let millis = u32::try_from(self.0.rem_euclid(1000)).expect("below 1000");
        *buf = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, digits: usize, mut value: u32| {
            for i in (at..at + digits).rev() {
                buf[i] = b'0' + u8::try_from(value % 10).expect("a digit");
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, date.month());
        put(8, 2, date.day());
        put(11, 2, time.hour());
        put(14, 2, time.minute());
        put(17, 2, time.second());
        put(20, 3, millis);
        std::str::from_utf8(buf).ok()
    }

    /// The RFC 3339 text as a string of its own, allocated once at its size (GraphQL values
    /// own their strings; `to_string` would grow one through `fmt`).
    pub fn to_rfc3339(self) -> String {
        match self.render(&mut [0; RENDERED_LEN]) {
            Some(text) => text.to_owned(),
            None => self.render_with_chrono(),
        }
    }

    fn render_with_chrono(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.render(&mut [0; RENDERED_LEN]) {
            Some(text) => f.write_str(text),
            None => f.write_str(&self.render_with_chrono()),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.render(&mut [0; RENDERED_LEN]) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.serialize_str(&self.render_with_chrono()),
        }
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
    fn renders_like_chrono_across_the_calendar() {
        let day = 86_400_000_i64;
        let mut instants = vec![
            i64::from(i32::MIN),
            -1,
            0,
            1,
            999,
            1_000,
            day - 1,
            // 0000-01-01T00:00:00.000Z, and the last millisecond before it (year -1).
            -62_167_219_200_000,
            -62_167_219_200_001,
            // 9999-12-31T23:59:59.999Z, and the first millisecond of year 10000.
            253_402_300_799_999,
            253_402_300_800_000,
            // 2024-02-29 (a leap day) and 2100-03-01 (after a non-leap February).
            1_709_164_800_123,
            4_107_542_400_456,
        ];
        // Every 79,199,930,110 ms (917 days and some hours) from year 1 to about 2510.
        instants.extend((0..1_000).map(|i| -62_135_596_800_000 + i * 79_199_930_110));
        for millis in instants {
            let t = Timestamp::from_millis(millis);
            let expected = t.render_with_chrono();
            assert_eq!(t.to_string(), expected, "{millis}");
            assert_eq!(t.to_rfc3339(), expected, "{millis}");
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                expected.as_str(),
                "{millis}"
            );
        }
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
