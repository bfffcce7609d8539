//! The assistant's metrics, measured in one place: a [`Responder`] that counts the replies
//! asked of the responder it wraps, their failures, the time to their first text and the
//! tokens the model reports (`usage` in the reply's metadata), whichever responder that is.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::time::Instant;

use super::{Metrics, TokenLabels};
use crate::assistant::{ReplyPiece, ReplyRequest, ReplyStream, Responder};
use crate::domain::Metadata;
use crate::error::AppResult;

/// Measures every reply of the responder inside.
pub struct MeasuredResponder {
    inner: Arc<dyn Responder>,
    metrics: Metrics,
}

impl MeasuredResponder {
    /// `inner`, measured into `metrics`; `inner` itself when metrics are off.
    pub fn wrap(inner: Arc<dyn Responder>, metrics: &Metrics) -> Arc<dyn Responder> {
        if !metrics.is_on() {
            return inner;
        }
        Arc::new(Self {
            inner,
            metrics: metrics.clone(),
        })
    }
}

#[async_trait]
impl Responder for MeasuredResponder {
    fn history_messages(&self) -> u64 {
        self.inner.history_messages()
    }

    async fn respond(&self, request: ReplyRequest) -> AppResult<ReplyStream> {
        let metrics = self.metrics.clone();
        metrics.assistant_requested();
        let started = Instant::now();
        let stream = match self.inner.respond(request).await {
            Ok(stream) => stream,
            Err(err) => {
                metrics.assistant_failed();
                return Err(err);
            }
        };
        let mut first_text = true;
        let measured = stream.inspect(move |piece| match piece {
            Ok(ReplyPiece::Text(_)) if first_text => {
                first_text = false;
                metrics.assistant_first_token(started.elapsed().as_secs_f64());
            }
            Ok(ReplyPiece::Text(_)) => {}
            Ok(ReplyPiece::Info(info)) => metrics.assistant_usage(info),
            Err(_) => metrics.assistant_failed(),
        });
        Ok(Box::pin(measured))
    }
}

impl Metrics {
    fn assistant_requested(&self) {
        if let Some(inner) = &self.inner {
            inner.assistant_requests.inc();
        }
    }

    fn assistant_failed(&self) {
        if let Some(inner) = &self.inner {
            inner.assistant_failures.inc();
        }
    }

    fn assistant_first_token(&self, seconds: f64) {
        if let Some(inner) = &self.inner {
            inner.assistant_first_token.observe(seconds);
        }
    }

    /// Adds the token counts of a reply's `usage` (`promptTokens`, `completionTokens`).
    pub(super) fn assistant_usage(&self, info: &Metadata) {
        let Some(inner) = &self.inner else { return };
        let Some(usage) = info.get("usage") else {
            return;
        };
        for (kind, field) in [
            ("prompt", "promptTokens"),
            ("completion", "completionTokens"),
        ] {
            if let Some(tokens) = usage.get(field).and_then(serde_json::Value::as_u64) {
                inner
                    .assistant_tokens
                    .get_or_create(&TokenLabels { kind })
                    .inc_by(tokens);
            }
        }
    }
}
