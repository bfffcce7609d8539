//! An assistant backed by any server that speaks OpenAI's Chat Completions API with streaming:
//! OpenAI itself, or local servers such as Ollama, vLLM, llama.cpp's server or LM Studio.
//!
//! Each reply is one `POST <base>/chat/completions` with `stream: true`. Until the first token
//! arrives, a 429 (after its `Retry-After`), a 408 or 5xx answer, a connection failure or a
//! first-token timeout is retried with backoff; once text has been passed on, a failure ends
//! the reply with an error and nothing is retried (so no text is ever sent twice).

mod config;
mod failure;
mod request;
mod stream;

use std::time::SystemTime;

use async_trait::async_trait;
use tokio::time::{Instant, timeout_at};

use self::failure::Failure;
use self::stream::Reading;
use super::{ReplyPiece, ReplyRequest, ReplyStream, Responder};
use crate::error::AppResult;

pub use config::{ApiKey, DEFAULT_BASE_URL, HistoryBudget, OpenAiArgs, OpenAiConfig};
pub use request::bounded_history;

/// The most of an error answer's body that is read (for the log).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Streams replies from an OpenAI-compatible server.
pub struct OpenAiResponder {
    config: OpenAiConfig,
    client: reqwest::Client,
}

impl OpenAiResponder {
    /// A responder for `config`; fails only if the TLS backend cannot start.
    pub fn new(config: OpenAiConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("chatgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.first_token_timeout)
            .build()
            .map_err(|e| format!("the HTTP client for the assistant cannot start: {e}"))?;
        Ok(Self { config, client })
    }

    /// One request, up to its first text. `Ok(None)` as the text: the stream completed without
    /// any (an empty reply).
    async fn attempt(&self, body: &[u8]) -> Result<(Reading, Option<String>), Failure> {
        let mut request = self
            .client
            .post(self.config.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .body(body.to_vec());
        if let Some(key) = &self.config.api_key {
            // Marked sensitive by reqwest: never printed by its Debug.
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "model server not reached");
            Failure::Unreachable
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.status_failure(response).await);
        }
        let mut reading = Reading::new(response.bytes_stream());
        let first = reading.next_text().await?;
        Ok((reading, first))
    }

    /// The failure an error answer stands for; its body is logged without the key.
    async fn status_failure(&self, response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let retry_after = failure::retry_after(response.headers(), SystemTime::now());
        let mut body = Vec::new();
        let mut chunks = response;
        while body.len() < MAX_ERROR_BODY {
            match chunks.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let described = failure::describe_error_body(&body, self.config.api_key.as_ref());
        tracing::warn!(status, upstream = %described, "model server answered an error");
        Failure::Status {
            status,
            retry_after,
        }
    }

    /// Attempts until one yields its first text, a failure is final, or time runs out.
    async fn start(&self, body: &[u8], deadline: Instant) -> AppResult<(Reading, Option<String>)> {
        let mut retry = 0;
        loop {
            let attempt_deadline = deadline.min(Instant::now() + self.config.first_token_timeout);
            let outcome = match timeout_at(attempt_deadline, self.attempt(body)).await {
                Ok(outcome) => outcome,
                Err(_) if attempt_deadline == deadline => {
                    Err(Failure::Timeout(self.config.timeout))
                }
                Err(_) => Err(Failure::FirstTokenTimeout(self.config.first_token_timeout)),
            };
            let failure = match outcome {
                Ok(started) => return Ok(started),
                Err(failure) => failure,
            };
            let attempts = retry + 1;
            let wait = match &failure {
                _ if !failure.retryable() || retry >= self.config.retries => None,
                Failure::Status {
                    retry_after: Some(asked),
                    ..
                } => Some(*asked).filter(|asked| *asked <= self.config.max_retry_wait),
                _ => Some(
                    failure::backoff(self.config.backoff, retry, failure::jitter())
                        .min(self.config.max_retry_wait),
                ),
            };
            match wait.filter(|wait| Instant::now() + *wait < deadline) {
                Some(wait) => {
                    tracing::info!(
                        attempt = attempts,
                        ?failure,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying the model request"
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                None => {
                    tracing::warn!(attempts, ?failure, "the assistant gave up on a reply");
                    return Err(failure.into_app_error(attempts));
                }
            }
        }
    }
}

#[async_trait]
impl Responder for OpenAiResponder {
    fn history_messages(&self) -> u64 {
        self.config.history.messages
    }

    async fn respond(&self, request: ReplyRequest) -> AppResult<ReplyStream> {
        let deadline = Instant::now() + self.config.timeout;
        let body = request::body(&self.config, &request);
        let (reading, first) = self.start(&body, deadline).await?;
        let overall = self.config.timeout;
        let pieces = futures::stream::unfold(
            Some((reading, first.map(ReplyPiece::Text))),
            move |state| async move {
                let (mut reading, pending) = state?;
                if let Some(piece) = pending {
                    return Some((Ok(piece), Some((reading, None))));
                }
                match timeout_at(deadline, reading.next_text()).await {
                    Ok(Ok(Some(text))) => Some((Ok(ReplyPiece::Text(text)), Some((reading, None)))),
                    Ok(Ok(None)) => Some((Ok(ReplyPiece::Info(reading.metadata())), None)),
                    Ok(Err(failure)) => {
                        tracing::warn!(?failure, "the model's reply broke off");
                        Some((Err(failure.into_app_error(1)), None))
                    }
                    Err(_) => Some((Err(Failure::Timeout(overall).into_app_error(1)), None)),
                }
            },
        );
        Ok(Box::pin(pieces))
    }
}
