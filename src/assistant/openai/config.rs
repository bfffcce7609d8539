//! Settings of the OpenAI-compatible assistant: the flags (each with an environment fallback)
//! and the checked configuration the responder runs with.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

/// The public OpenAI API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Most history messages a request may carry (the longest page the store hands out).
pub const MAX_HISTORY_MESSAGES: u64 = 100;

/// A secret API key. Its `Debug` never shows it, so no logged configuration or error can.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key, or `None` for an empty one (an unset optional key).
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.trim().is_empty()).then_some(Self(key))
    }

    /// The key itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Any text is a key (clap parses flags through this); an empty one is dropped later.
impl std::str::FromStr for ApiKey {
    type Err = std::convert::Infallible;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Ok(Self(key.to_owned()))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The `--openai-*` flags, flattened into the server's configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenAiArgs {
    /// Base URL of the OpenAI-compatible API (requests go to `<base>/chat/completions`).
    #[arg(long = "openai-base-url", env = "OPENAI_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// API key sent as `Authorization: Bearer <key>`; optional for local servers. Prefer the
    /// environment variable: flags show up in process lists.
    #[arg(
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<ApiKey>,
    /// Model name, e.g. `gpt-4o-mini`, or `llama3.2` on Ollama.
    #[arg(long = "openai-model", env = "OPENAI_MODEL")]
    pub model: Option<String>,
    /// System prompt sent before the conversation.
    #[arg(long = "openai-system-prompt", env = "OPENAI_SYSTEM_PROMPT")]
    pub system_prompt: Option<String>,
    /// Sampling temperature, 0 to 2; the server's default when unset.
    #[arg(long = "openai-temperature", env = "OPENAI_TEMPERATURE")]
    pub temperature: Option<f32>,
    /// Most tokens a reply may have; the server's default when unset.
    #[arg(long = "openai-max-tokens", env = "OPENAI_MAX_TOKENS")]
    pub max_tokens: Option<u32>,
    /// Seconds to connect and receive the first token of a reply (per attempt).
    #[arg(
        long = "openai-first-token-timeout",
        env = "OPENAI_FIRST_TOKEN_TIMEOUT",
        default_value_t = 30
    )]
    pub first_token_timeout: u64,
    /// Seconds a whole reply may take, retries included.
    #[arg(long = "openai-timeout", env = "OPENAI_TIMEOUT", default_value_t = 120)]
    pub timeout: u64,
    /// Retries before the first token (429, 5xx, connection errors and timeouts).
    #[arg(long = "openai-retries", env = "OPENAI_RETRIES", default_value_t = 2)]
    pub retries: u32,
    /// Most of the conversation's latest messages sent as context.
    #[arg(
        long = "openai-history-messages",
        env = "OPENAI_HISTORY_MESSAGES",
        default_value_t = 20
    )]
    pub history_messages: u64,
    /// Most characters of message content sent as context (the message being answered is
    /// always sent whole).
    #[arg(
        long = "openai-history-chars",
        env = "OPENAI_HISTORY_CHARS",
        default_value_t = 24_000
    )]
    pub history_chars: usize,
}

/// How much of a conversation goes along as context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBudget {
    /// Most messages, the one being answered included.
    pub messages: u64,
    /// Most characters of content; older messages are left out first.
    pub chars: usize,
}

/// The checked configuration of the OpenAI-compatible responder.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `<base>/chat/completions`.
    pub endpoint: Url,
    pub api_key: Option<ApiKey>,
    pub model: String,
    pub system_prompt: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Per attempt: until the first token of the reply has arrived.
    pub first_token_timeout: Duration,
    /// The whole reply, retries and waits included.
    pub timeout: Duration,
    /// Attempts after the first, only before the first token.
    pub retries: u32,
    /// The wait before the first retry; each further retry waits twice as long.
    pub backoff: Duration,
    /// The longest single wait between attempts, `Retry-After` included.
    pub max_retry_wait: Duration,
    pub history: HistoryBudget,
}

impl OpenAiConfig {
    /// A configuration for `model` at `base_url` with every other setting at its default.
    pub fn new(base_url: &str, model: &str) -> Result<Self, String> {
        Ok(Self {
            endpoint: endpoint(base_url)?,
            api_key: None,
            model: required_model(Some(model))?,
            system_prompt: None,
            temperature: None,
            max_tokens: None,
            first_token_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_retry_wait: Duration::from_secs(30),
            history: HistoryBudget {
                messages: 20,
                chars: 24_000,
            },
        })
    }

    /// Checks the flags; the message names the setting to fix.
    pub fn from_args(args: &OpenAiArgs) -> Result<Self, String> {
        let mut config = Self::new(&args.base_url, args.model.as_deref().unwrap_or(""))?;
        config.api_key = args.api_key.as_ref().and_then(|k| ApiKey::new(k.expose()));
        config.system_prompt = args.system_prompt.clone().filter(|p| !p.trim().is_empty());
        if let Some(t) = args.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err("OPENAI_TEMPERATURE must be between 0 and 2".into());
            }
            config.temperature = Some(t);
        }
        if args.max_tokens == Some(0) {
            return Err("OPENAI_MAX_TOKENS must be at least 1".into());
        }
        config.max_tokens = args.max_tokens;
        if args.first_token_timeout == 0 {
            return Err("OPENAI_FIRST_TOKEN_TIMEOUT must be at least 1 second".into());
        }
        if args.timeout < args.first_token_timeout {
            return Err("OPENAI_TIMEOUT must be at least OPENAI_FIRST_TOKEN_TIMEOUT".into());
        }
        config.first_token_timeout = Duration::from_secs(args.first_token_timeout);
        config.timeout = Duration::from_secs(args.timeout);
        if args.retries > 10 {
            return Err("OPENAI_RETRIES must be at most 10".into());
        }
        config.retries = args.retries;
        if !(1..=MAX_HISTORY_MESSAGES).contains(&args.history_messages) {
            return Err(format!(
                "OPENAI_HISTORY_MESSAGES must be between 1 and {MAX_HISTORY_MESSAGES}"
            ));
        }
        if args.history_chars == 0 {
            return Err("OPENAI_HISTORY_CHARS must be at least 1".into());
        }
        config.history = HistoryBudget {
            messages: args.history_messages,
            chars: args.history_chars,
        };
        Ok(config)
    }
}

/// `<base>/chat/completions`, whether or not the base ends with a slash. The URL is never
/// echoed in the error: it may carry credentials.
fn endpoint(base_url: &str) -> Result<Url, String> {
    let joined = format!("{}/chat/completions", base_url.trim().trim_end_matches('/'));
    match Url::parse(&joined) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err("OPENAI_BASE_URL must be an http:// or https:// URL".into()),
    }
}

fn required_model(model: Option<&str>) -> Result<String, String> {
    match model.map(str::trim) {
        Some(model) if !model.is_empty() => Ok(model.to_owned()),
        _ => Err(
            "OPENAI_MODEL must name a model (e.g. gpt-4o-mini, or llama3.2 on Ollama) \
                  when ASSISTANT=openai"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        openai: OpenAiArgs,
    }

    fn parse(args: &[&str]) -> Result<OpenAiConfig, String> {
        let flags = Flags::try_parse_from(std::iter::once("chatgate").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        OpenAiConfig::from_args(&flags.openai)
    }

    #[test]
    fn defaults_point_at_the_public_api_and_need_a_model() {
        let err = parse(&[]).unwrap_err();
        assert!(err.contains("OPENAI_MODEL"), "{err}");
        let config = parse(&["--openai-model", "gpt-4o-mini"]).unwrap();
        assert_eq!(
            config.endpoint.as_str(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(config.api_key, None);
        assert_eq!(config.retries, 2);
        assert_eq!(config.first_token_timeout, Duration::from_secs(30));
        assert_eq!(config.timeout, Duration::from_secs(120));
        assert_eq!(config.history.messages, 20);
    }

    #[test]
    fn base_urls_keep_their_path_with_or_without_a_trailing_slash() {
        for base in ["http://localhost:11434/v1", "http://localhost:11434/v1/"] {
            let config = OpenAiConfig::new(base, "llama3.2").unwrap();
            assert_eq!(
                config.endpoint.as_str(),
                "http://localhost:11434/v1/chat/completions"
            );
        }
        let err = OpenAiConfig::new("ftp://user:secret@host/v1", "m").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn out_of_range_settings_are_refused_with_the_setting_named() {
        let cases = [
            (&["--openai-temperature", "2.5"][..], "OPENAI_TEMPERATURE"),
            (&["--openai-max-tokens", "0"][..], "OPENAI_MAX_TOKENS"),
            (&["--openai-first-token-timeout", "0"][..], "FIRST_TOKEN"),
            (
                &[
                    "--openai-timeout",
                    "5",
                    "--openai-first-token-timeout",
                    "10",
                ][..],
                "OPENAI_TIMEOUT",
            ),
            (&["--openai-history-messages", "0"][..], "HISTORY_MESSAGES"),
            (
                &["--openai-history-messages", "101"][..],
                "HISTORY_MESSAGES",
            ),
            (&["--openai-history-chars", "0"][..], "HISTORY_CHARS"),
            (&["--openai-retries", "11"][..], "OPENAI_RETRIES"),
        ];
        for (flags, setting) in cases {
            let mut args = vec!["--openai-model", "m"];
            args.extend_from_slice(flags);
            let err = parse(&args).unwrap_err();
            assert!(err.contains(setting), "{flags:?}: {err}");
        }
    }

    #[test]
    fn the_key_is_optional_and_never_shown_by_debug() {
        let config = parse(&["--openai-model", "m", "--openai-api-key", "sk-secret-123"]).unwrap();
        assert_eq!(
            config.api_key.as_ref().map(ApiKey::expose),
            Some("sk-secret-123")
        );
        assert!(!format!("{config:?}").contains("sk-secret-123"));
        let empty = parse(&["--openai-model", "m", "--openai-api-key", ""]).unwrap();
        assert_eq!(empty.api_key, None);
    }
}
