//! What every live socket shares: its settings, the cap on open sockets, the shutdown signal
//! and the authentication hook.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::{JOIN_FRAMES_KEPT, RenderedFrames, SocketAuth};
use crate::error::{AppError, ErrorCode};
use crate::metrics::{Metrics, OpenGuard};

/// Tunables of live sockets; [`Default`] is what the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSettings {
    /// Most sockets open at once, `/graphql` and `/ws` together; one more upgrade gets 503.
    pub max_sockets: usize,
    /// How often an acknowledged socket gets a keep-alive (`ping`, legacy `ka`, a WebSocket
    /// ping on `/ws`), so idle proxies keep live UIs connected.
    pub ping_interval: Duration,
    /// How long a GraphQL socket may take to send `connection_init` (else 4408), and a `/ws`
    /// socket that must authenticate its `auth` frame (else 4401).
    pub init_timeout: Duration,
    /// Most operations one socket runs at once (GraphQL operations, `/ws` joined
    /// conversations); one more is refused with [`too_many_operations`], the socket stays open.
    pub max_operations: usize,
}

/// Default of [`SocketSettings::max_sockets`].
pub const DEFAULT_MAX_SOCKETS: usize = 10_000;

/// Default of [`SocketSettings::max_operations`].
pub const DEFAULT_MAX_OPERATIONS: usize = 100;

/// The refusal of an operation beyond [`SocketSettings::max_operations`]: `RATE_LIMITED`, with
/// the cap in `details.maxOperations`. Both protocols send it for that operation alone.
pub fn too_many_operations(max: usize) -> AppError {
    AppError::new(
        ErrorCode::RateLimited,
        format!("this socket already runs {max} operations, the most it may; end one first"),
    )
    .with_details(serde_json::json!({ "maxOperations": max }))
}

impl Default for SocketSettings {
    fn default() -> Self {
        Self {
            max_sockets: DEFAULT_MAX_SOCKETS,
            ping_interval: Duration::from_secs(15),
            init_timeout: Duration::from_secs(10),
            max_operations: DEFAULT_MAX_OPERATIONS,
        }
    }
}

/// What every socket shares: the cap, the shutdown signal, the live socket tasks and the
/// authentication hook. Cheap to clone; lives in the application state.
#[derive(Clone)]
pub struct Sockets {
    settings: Arc<SocketSettings>,
    permits: Arc<Semaphore>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    auth: Arc<dyn SocketAuth>,
    /// Where open sockets are counted, by protocol.
    metrics: Metrics,
    /// Recent changes' `/ws` frames, rendered once for every socket.
    join_frames: Arc<RenderedFrames>,
}

impl Sockets {
    /// Sockets under `settings`, admitted by `auth`.
    pub fn new(settings: SocketSettings, auth: Arc<dyn SocketAuth>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(settings.max_sockets)),
            settings: Arc::new(settings),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            auth,
            metrics: Metrics::off(),
            join_frames: Arc::new(RenderedFrames::new(JOIN_FRAMES_KEPT)),
        }
    }

    /// The same sockets counted into `metrics` (the application state sets it).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where this application's socket activity is counted.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The settings every socket runs with.
    pub fn settings(&self) -> &SocketSettings {
        &self.settings
    }

    /// The hook deciding who may use a socket.
    pub fn auth(&self) -> &Arc<dyn SocketAuth> {
        &self.auth
    }

    /// The `/ws` frames of recent changes, rendered once for every socket that joined.
    pub fn join_frames(&self) -> &RenderedFrames {
        &self.join_frames
    }

    /// A place for one more socket speaking `protocol` (its name in the metrics), or `None`
    /// when all are taken or the server is stopping.
    pub fn admit(&self, protocol: &'static str) -> Option<SocketTicket> {
        if self.shutdown.is_cancelled() {
            return None;
        }
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(SocketTicket {
            _permit: permit,
            _task: self.tasks.token(),
            _counted: self.metrics.socket_opened(protocol),
            shutdown: self.shutdown.clone(),
        })
    }

    /// How many sockets are open (or being opened) now.
    pub fn open(&self) -> usize {
        self.settings.max_sockets - self.permits.available_permits()
    }

    /// Tells every socket to deliver what it still holds and close with 1001; refuses new ones.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
        self.tasks.close();
    }

    /// Resolves once [`Self::shut_down`] was called: sessions then deliver what they hold
    /// ([`Drain`]) and end with [`Exit::going_away`].
    pub async fn shutting_down(&self) {
        self.shutdown.cancelled().await;
    }

    /// Resolves once [`Self::shut_down`] was called and every socket has finished closing.
    pub async fn drained(&self) {
        self.tasks.wait().await;
    }

    /// A keep-alive timer whose first tick is one interval from now.
    pub fn keepalive(&self) -> Interval {
        let period = self.settings.ping_interval;
        let mut timer = tokio::time::interval_at(Instant::now() + period, period);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        timer
    }
}

/// One socket's place under the cap and in the shutdown drain, held for the socket's lifetime.
pub struct SocketTicket {
    _permit: OwnedSemaphorePermit,
    _task: TaskTrackerToken,
    _counted: OpenGuard,
    pub(super) shutdown: CancellationToken,
}
