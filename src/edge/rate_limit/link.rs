//! The connection to Redis behind the shared window, and whether it is usable. One multiplexed
//! connection carries every request's script; the first failure or timeout drops it, so the
//! requests that follow go straight to the local table instead of waiting on a Redis that does
//! not answer, and a background task reopens it with backoff. Each change of state (down, back)
//! is logged once; the attempts in between only at debug level.

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script};
use tokio::sync::Notify;

/// The longest one attempt to open a connection (and load the script) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The connection and its state, shared by the window and the reconnecting task.
pub struct Link {
    client: Client,
    /// Loaded on every new connection: proof that Redis really answers, and no `NOSCRIPT`
    /// round trip on the first request.
    script: Script,
    state: Mutex<State>,
    /// Wakes the reconnecting task: the connection was lost, or the link is gone.
    wake: Arc<Notify>,
}

struct State {
    /// Counts the connections opened, so a failure seen on an old one cannot drop a new one.
    generation: u64,
    connection: Option<MultiplexedConnection>,
}

impl Link {
    /// A link to `client`'s Redis, tried once before this returns; when that fails it is
    /// logged, and the background task keeps trying (`retry_min` doubling up to `retry_max`).
    pub async fn open(
        client: Client,
        script: Script,
        retry_min: Duration,
        retry_max: Duration,
    ) -> Arc<Link> {
        let link = Arc::new(Link {
            client,
            script,
            state: Mutex::new(State {
                generation: 0,
                connection: None,
            }),
            wake: Arc::new(Notify::new()),
        });
        match link.connect().await {
            Ok(connection) => {
                link.state.lock().connection = Some(connection);
                tracing::info!(redis = %link.address(), "rate limit: counting in Redis");
            }
            Err(reason) => {
                link.log_down(&reason);
                link.wake.notify_one();
            }
        }
        tokio::spawn(reconnect(
            Arc::downgrade(&link),
            link.wake.clone(),
            retry_min,
            retry_max,
        ));
        link
    }

    /// The connection to send a request on, with its generation; `None` while Redis is down.
    pub fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        let state = self.state.lock();
        let connection = state.connection.clone()?;
        Some((state.generation, connection))
    }

    /// Whether a connection is open.
    pub fn connected(&self) -> bool {
        self.state.lock().connection.is_some()
    }

    /// A request on the connection of `generation` failed for `reason`: drop that connection
    /// (unless a newer one replaced it already) and start reconnecting.
    pub fn lost(&self, generation: u64, reason: &str) {
        let mut state = self.state.lock();
        if state.generation != generation || state.connection.is_none() {
            return;
        }
        state.connection = None;
        drop(state);
        self.log_down(reason);
        self.wake.notify_one();
    }

    fn restore(&self, connection: MultiplexedConnection) {
        let mut state = self.state.lock();
        state.generation += 1;
        state.connection = Some(connection);
        drop(state);
        tracing::info!(redis = %self.address(), "rate limit: Redis answers again; counting in Redis");
    }

    fn log_down(&self, reason: &str) {
        tracing::warn!(
            redis = %self.address(),
            error = reason,
            "rate limit: Redis is unreachable; counting on this instance alone until it answers"
        );
    }

    /// Where Redis is (host and port, never credentials).
    fn address(&self) -> String {
        self.client.get_connection_info().addr().to_string()
    }

    /// Opens a connection and loads the script, within [`CONNECT_TIMEOUT`].
    async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let attempt = async {
            let mut connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.script
                .prepare_invoke()
                .load_async(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(connection)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
        }
    }
}

impl Drop for Link {
    /// Lets the reconnecting task see that the link is gone and end.
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

/// Reopens the connection each time it is lost, waiting `retry_min` doubling up to `retry_max`
/// between attempts; ends once the link is dropped. Holds the link only while attempting.
async fn reconnect(link: Weak<Link>, wake: Arc<Notify>, retry_min: Duration, retry_max: Duration) {
    loop {
        wake.notified().await;
        let mut delay = retry_min;
        loop {
            let Some(link) = link.upgrade() else { return };
            if link.connected() {
                break;
            }
            match link.connect().await {
                Ok(connection) => {
                    link.restore(connection);
                    break;
                }
                Err(reason) => {
                    tracing::debug!(error = reason, "rate limit: Redis still unreachable")
                }
            }
            drop(link);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(retry_max);
        }
    }
}
