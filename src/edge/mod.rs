//! What every request meets before a handler runs: rate limiting, CORS and API keys.

pub mod api_keys;
pub mod rate_limit;
