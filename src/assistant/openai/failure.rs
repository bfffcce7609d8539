//! How a model request fails: which failures are worth another attempt, how long to wait
//! before it, what the client is told and what the log gets. Neither ever carries the API key
//! or the model server's own error text back to a client.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::config::ApiKey;
use crate::error::AppError;

/// The most of an upstream error message that reaches the log.
const LOGGED_MESSAGE_CHARS: usize = 300;

/// Why one attempt at a reply failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The server answered with an error status.
    Status {
        status: u16,
        /// What `Retry-After` (or `retry-after-ms`) asked for, when present.
        retry_after: Option<Duration>,
    },
    /// No answer: refused, reset or unresolvable before the response began.
    Unreachable,
    /// No first token within the per-attempt timeout.
    FirstTokenTimeout(Duration),
    /// The whole reply took longer than the overall timeout.
    Timeout(Duration),
    /// The stream ended (or the connection broke) before the reply was complete.
    Cut,
    /// The stream is not Chat Completions chunks.
    Malformed,
    /// The server reported an error inside the stream.
    StreamError,
}

impl Failure {
    /// Whether another attempt may succeed. Only asked before the first token: once text has
    /// been passed on, a reply is never started over.
    pub fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Failure::Unreachable | Failure::FirstTokenTimeout(_) | Failure::Cut => true,
            Failure::Timeout(_) | Failure::Malformed | Failure::StreamError => false,
        }
    }

    /// The client's `ASSISTANT_UNAVAILABLE` error after `attempts` attempts.
    pub fn into_app_error(self, attempts: u32) -> AppError {
        let what = match self {
            Failure::Status { status, .. } => format!("the model server answered {status}"),
            Failure::Unreachable => "the model server could not be reached".to_owned(),
            Failure::FirstTokenTimeout(limit) => format!(
                "the model server sent no reply within {} s",
                limit.as_secs_f64()
            ),
            Failure::Timeout(limit) => {
                format!("the reply took longer than {} s", limit.as_secs_f64())
            }
            Failure::Cut => "the reply broke off before it was complete".to_owned(),
            Failure::Malformed => {
                "the model server's stream is not a Chat Completions stream".to_owned()
            }
            Failure::StreamError => "the model server reported an error mid-reply".to_owned(),
        };
        let tries = if attempts > 1 {
            format!(" ({attempts} attempts)")
        } else {
            String::new()
        };
        AppError::assistant_unavailable(format!("The assistant is unavailable: {what}{tries}"))
    }
}

/// The wait a `Retry-After` (seconds or an HTTP date) or `retry-after-ms` header asks for.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(at.timestamp_millis()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait before retry number `retry` (0 for the first) without a `Retry-After`: `base`
/// doubled per retry, shortened by up to a quarter by `jitter` (0 to 1) so that many replies
/// failing together do not retry in lockstep.
pub fn backoff(base: Duration, retry: u32, jitter: f64) -> Duration {
    let doubled = base.saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX));
    doubled.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) from the operating system's randomness (through a v4 UUID).
pub fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() & 0xFFFF;
    f64::from(u16::try_from(bits).unwrap_or(0)) / 65_536.0
}

/// What an error body in OpenAI's shape (`{"error": {"message", "type", "code"}}`, or a bare
/// `{"error": "…"}`) says, for the log: type, code and message, the key cut out.
pub fn describe_error_body(body: &[u8], key: Option<&ApiKey>) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return format!("{} bytes that are not JSON", body.len());
    };
    let error = &value["error"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let message = text(error)
        .or_else(|| text(&error["message"]))
        .or_else(|| text(&value["message"]))
        .unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(kind) = text(&error["type"]) {
        parts.push(format!("type={kind}"));
    }
    if let Some(code) = text(&error["code"]) {
        parts.push(format!("code={code}"));
    }
    parts.push(format!("message={}", redact(&message, key)));
    parts.join(" ")
}

/// `text` without the key, cut to [`LOGGED_MESSAGE_CHARS`].
pub fn redact(text: &str, key: Option<&ApiKey>) -> String {
    let clean = match key {
        Some(key) => text.replace(key.expose(), "<redacted>"),
        None => text.to_owned(),
    };
    clean.chars().take(LOGGED_MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "2"), ("retry-after-ms", "150")]),
                now
            ),
            Some(Duration::from_millis(150))
        );
        // 2015-10-21T07:28:00Z is 10 s after `now`.
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                now
            ),
            Some(Duration::from_secs(10))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_and_jitter_only_shortens() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 0, 0.0), base);
        assert_eq!(backoff(base, 2, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_millis(750));
        assert!(backoff(base, 100, 0.0) >= Duration::from_secs(3600));
        assert!((0.0..1.0).contains(&jitter()));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |status| Failure::Status {
            status,
            retry_after: None,
        };
        for failure in [
            status(429),
            status(500),
            status(503),
            Failure::Unreachable,
            Failure::Cut,
        ] {
            assert!(failure.retryable(), "{failure:?}");
        }
        for failure in [status(400), status(401), status(404), Failure::Malformed] {
            assert!(!failure.retryable(), "{failure:?}");
        }
    }

    #[test]
    fn error_bodies_are_described_without_the_key() {
        let key = ApiKey::new("sk-live-abc123");
        let body = br#"{"error": {"message": "Incorrect API key provided: sk-live-abc123.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"#;
        let described = describe_error_body(body, key.as_ref());
        assert_eq!(
            described,
            "type=invalid_request_error code=invalid_api_key \
             message=Incorrect API key provided: <redacted>."
        );
        assert_eq!(
            describe_error_body(br#"{"error": "model not found"}"#, None),
            "message=model not found"
        );
        assert_eq!(
            describe_error_body(b"<html>", None),
            "6 bytes that are not JSON"
        );
    }

    #[test]
    fn client_messages_name_the_failure_and_the_attempts() {
        let err = Failure::Status {
            status: 503,
            retry_after: None,
        }
        .into_app_error(3);
        assert_eq!(err.code(), crate::error::ErrorCode::AssistantUnavailable);
        assert_eq!(
            err.message(),
            "The assistant is unavailable: the model server answered 503 (3 attempts)"
        );
        assert_eq!(
            Failure::Cut.into_app_error(1).message(),
            "The assistant is unavailable: the reply broke off before it was complete"
        );
    }
}
