//! Whether this instance should be sent traffic: the answer of `GET /health/ready`. It turns
//! false the moment shutdown starts, before sockets are told to close, so a load balancer stops
//! sending new work while in-flight work drains.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The draining flag, shared by the readiness route and the shutdown sequence.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// Marks the server as draining: `/health/ready` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has started.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Resolves with `signal`, after marking the server as draining; wrap the shutdown signal
    /// in it before anything else (socket closing included) reacts to it.
    pub fn drain_on<F: Future<Output = ()> + Send>(
        &self,
        signal: F,
    ) -> impl Future<Output = ()> + Send + use<F> {
        let readiness = self.clone();
        async move {
            signal.await;
            readiness.start_draining();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_flag_is_down_by_the_time_the_wrapped_signal_resolves() {
        let readiness = Readiness::default();
        assert!(!readiness.is_draining());
        readiness.drain_on(std::future::ready(())).await;
        assert!(readiness.is_draining());
    }
}
