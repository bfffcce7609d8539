//! One execution per selection: subscribers that sent the same subscription (same query text,
//! variables and operation name) share one GraphQL execution of each event and one serialized
//! payload, which each socket writes around its own operation id without re-encoding it.
//!
//! Every subscriber still subscribes on its own: its operation runs through async-graphql
//! (parsing, validation, limits, the resolver's checks and errors), and the resolver hands its
//! live stream to the operation's [`Tap`] instead of rendering it. The subscriber's own stream
//! keeps every per-subscriber rule (where it starts, `after` replays, the lag rule, completion
//! on delete, order); only rendering goes to the selection's [`Group`], whose single execution
//! reads the events it is given from a [`Feed`] and keeps the payloads of recent events for the
//! other subscribers. Nothing a group renders depends on the socket: operations run without
//! per-socket data, and keys are checked before any operation starts.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context as TaskContext, Poll};

use async_graphql::{Context, Request, Response, Variables};
use axum::extract::ws::Utf8Bytes;
use futures::future::{BoxFuture, Shared};
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::events::{Change, LiveItem, LiveStream};
use crate::graphql::ChatSchema;
use crate::ws::RenderedFrames;

/// How many recent events a group keeps the payload of. Subscribers of one topic take an
/// event within moments of each other; one further behind has its payload rendered again.
const PAYLOADS_KEPT: usize = 64;

/// What one result of an operation is: a response of its own, or a payload shared with every
/// subscriber of the same selection.
pub enum Outcome {
    /// A response this operation alone got (an error before it ran, a query's result).
    Response(Response),
    /// The serialized payload of a `next` (legacy: `data`), shared by the whole group.
    Payload(Utf8Bytes),
}

/// The groups of subscribers by selection, and the schema they execute on. Cheap to clone;
/// lives in the application state.
#[derive(Clone)]
pub struct SharedExecutions {
    inner: Arc<Registry>,
}

struct Registry {
    schema: ChatSchema,
    groups: Mutex<HashMap<Arc<Selection>, Weak<Group>>>,
    executions: AtomicU64,
}

/// What makes two subscriptions render alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Selection {
    query: String,
    operation_name: Option<String>,
    /// The variables as JSON text: a key that hashes.
    variables_json: String,
}

impl SharedExecutions {
    /// Groups executing on `schema`.
    pub fn new(schema: ChatSchema) -> Self {
        Self {
            inner: Arc::new(Registry {
                schema,
                groups: Mutex::new(HashMap::new()),
                executions: AtomicU64::new(0),
            }),
        }
    }

    /// How many times a subscription's selection was executed for an event since the start:
    /// once per event and selection, however many sockets subscribed to it.
    pub fn executions(&self) -> u64 {
        self.inner.executions.load(Ordering::Relaxed)
    }

    /// How many selections have live groups now.
    pub fn groups(&self) -> usize {
        self.inner.groups.lock().len()
    }

    /// Runs `request` as one socket's operation: its own execution until its resolver hands
    /// over a live stream, then that stream rendered by the selection's group. Each result is
    /// `Some`; a last `None` says the operation completed.
    pub fn operation(&self, request: Request) -> BoxStream<'static, Option<Outcome>> {
        let selection = Selection {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables_json: serde_json::to_string(&request.variables)
                .expect("GraphQL variables serialize"),
        };
        let variables = request.variables.clone();
        let tap = Tap::default();
        let own = self
            .inner
            .schema
            .execute_stream_with_session_data(request.data(tap.clone()), Default::default());
        let registry = self.inner.clone();
        let mut own = Some(own);
        // Kept once the stream is handed over, until the operation ends: what observes the
        // operation (its metrics) is dropped with it. The resolver's own stream ends at the
        // hand-over, so what is kept is the ended execution, not its request's state.
        let mut _handed_over = None;
        let mut shared: Option<Rendered> = None;
        let mut join = Some((selection, variables));
        let mut completed = false;
        futures::stream::poll_fn(move |cx| {
            loop {
                if completed {
                    return Poll::Ready(None);
                }
                let polled = if let Some(shared) = shared.as_mut() {
                    shared.poll_next_unpin(cx)
                } else {
                    let Some(running) = own.as_mut() else {
                        completed = true;
                        return Poll::Ready(Some(None));
                    };
                    let polled = running.poll_next_unpin(cx);
                    if let Some(tapped) = tap.take() {
                        // The resolver passed its checks and handed its stream over: the own
                        // execution has nothing more to say.
                        _handed_over = own.take();
                        let (selection, variables) = join.take().expect("a tap is taken once");
                        let group = Group::join(&registry, selection, variables);
                        shared = Some(tapped.rendered_by(group, tap.lagged.clone()));
                        continue;
                    }
                    polled.map(|response| response.map(Outcome::Response))
                };
                return match polled {
                    Poll::Ready(None) => {
                        completed = true;
                        Poll::Ready(Some(None))
                    }
                    other => other.map(|outcome| outcome.map(Some)),
                };
            }
        })
        .boxed()
    }
}

/// Where a subscriber's resolver hands its live stream over (request data of each socket's
/// own execution), and whether that stream lagged: the own execution outlives the hand-over,
/// so its observers learn how the operation ended.
#[derive(Clone, Default)]
pub struct Tap {
    tapped: Arc<Mutex<Option<Tapped>>>,
    lagged: Arc<AtomicBool>,
}

/// A subscriber's live stream and which of its events the selected field renders.
struct Tapped {
    live: LiveStream,
    renders: Box<dyn Fn(&Change) -> bool + Send + Sync>,
}

impl Tap {
    /// The tap of the operation `ctx` executes, if it is a socket's own execution.
    pub fn of<'a>(ctx: &Context<'a>) -> Option<&'a Tap> {
        ctx.data_opt::<Tap>()
    }

    /// Hands `live` over; `renders` says which events the field turns into a result.
    pub fn hand_over(
        &self,
        live: LiveStream,
        renders: impl Fn(&Change) -> bool + Send + Sync + 'static,
    ) {
        *self.tapped.lock() = Some(Tapped {
            live,
            renders: Box::new(renders),
        });
    }

    /// Whether the handed-over stream ended with `SUBSCRIPTION_LAGGED`.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Relaxed)
    }

    fn take(&self) -> Option<Tapped> {
        self.tapped.lock().take()
    }
}

impl Tapped {
    /// The subscriber's results: each event its field renders (and the lag error), rendered
    /// by `group`; ends where the live stream ends.
    fn rendered_by(self, group: Arc<Group>, lagged: Arc<AtomicBool>) -> Rendered {
        Rendered {
            tapped: self,
            group,
            lagged,
            payload: None,
            ended: false,
        }
    }
}

/// A subscriber's live stream rendered by its group: one layer that takes the next event,
/// skips those its field does not render, and waits for the group's payload of it.
struct Rendered {
    tapped: Tapped,
    group: Arc<Group>,
    lagged: Arc<AtomicBool>,
    /// The payload of the event taken last, until it is ready.
    payload: Option<Payload>,
    ended: bool,
}

impl Stream for Rendered {
    type Item = Outcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Outcome>> {
        let this = &mut *self;
        loop {
            if let Some(payload) = this.payload.as_mut() {
                let rendered = std::task::ready!(payload.poll_unpin(cx));
                this.payload = None;
                let Some(rendered) = rendered else {
                    // The group's execution ended: nothing more renders.
                    this.ended = true;
                    return Poll::Ready(None);
                };
                return Poll::Ready(Some(Outcome::Payload(rendered)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let Some(item) = std::task::ready!(this.tapped.live.poll_next_unpin(cx)) else {
                this.ended = true;
                return Poll::Ready(None);
            };
            this.payload = match &item {
                LiveItem::Event(change) if (this.tapped.renders)(change) => {
                    Some(this.group.payload(item))
                }
                LiveItem::Event(_) | LiveItem::Ended => None,
                LiveItem::Lagged => {
                    this.lagged.store(true, Ordering::Relaxed);
                    Some(this.group.payload(item))
                }
            };
        }
    }
}

/// Where a group's execution reads the events it renders (request data of the group's
/// execution; its resolver takes the receiver once).
pub struct Feed(Mutex<Option<mpsc::UnboundedReceiver<LiveItem>>>);

impl Feed {
    /// The events to render, if `ctx` executes for a group.
    pub fn of(ctx: &Context<'_>) -> Option<impl Stream<Item = LiveItem> + Send + 'static> {
        let receiver = ctx.data_opt::<Feed>()?.0.lock().take()?;
        Some(tokio_stream::wrappers::UnboundedReceiverStream::new(
            receiver,
        ))
    }
}

/// The subscribers of one selection: one execution, fed one event at a time.
struct Group {
    selection: Arc<Selection>,
    variables: Variables,
    registry: Weak<Registry>,
    execution: tokio::sync::Mutex<Option<Execution>>,
    /// Each recent event's payload, rendered once by a task of its own: every subscriber
    /// waits on the same future, and none has to be polled for it to finish (a socket stuck
    /// writing to a slow client holds nobody up).
    payloads: RenderedFrames<Payload>,
    lagged: OnceLock<Payload>,
}

/// One event's payload: `None` if the group's execution ended.
type Payload = Shared<BoxFuture<'static, Option<Utf8Bytes>>>;

struct Execution {
    feed: mpsc::UnboundedSender<LiveItem>,
    results: BoxStream<'static, Response>,
}

impl Group {
    /// The live group of `selection`, or a new one.
    fn join(registry: &Arc<Registry>, selection: Selection, variables: Variables) -> Arc<Self> {
        let mut groups = registry.groups.lock();
        if let Some(group) = groups.get(&selection).and_then(Weak::upgrade) {
            return group;
        }
        let selection = Arc::new(selection);
        let group = Arc::new(Group {
            selection: selection.clone(),
            variables,
            registry: Arc::downgrade(registry),
            execution: tokio::sync::Mutex::new(None),
            payloads: RenderedFrames::new(PAYLOADS_KEPT),
            lagged: OnceLock::new(),
        });
        groups.insert(selection, Arc::downgrade(&group));
        group
    }

    /// The payload `item` (an event or the lag) renders to, executed once for the whole
    /// group; it resolves to `None` if the group's execution ended (it does not while
    /// subscribers pass it events their field renders).
    fn payload(self: &Arc<Self>, item: LiveItem) -> Payload {
        match &item {
            LiveItem::Event(change) => self
                .payloads
                .get_or_render(change, |_| self.spawn_execution(item.clone())),
            _ => self
                .lagged
                .get_or_init(|| self.spawn_execution(item.clone()))
                .clone(),
        }
    }

    fn spawn_execution(self: &Arc<Self>, item: LiveItem) -> Payload {
        let group = self.clone();
        tokio::spawn(async move { group.execute(item).await })
            .map(|done| done.ok().flatten())
            .boxed()
            .shared()
    }

    /// Runs `item` through the group's execution; one event at a time.
    async fn execute(&self, item: LiveItem) -> Option<Utf8Bytes> {
        let registry = self.registry.upgrade()?;
        let mut execution = self.execution.lock().await;
        let running = execution.get_or_insert_with(|| self.start(&registry.schema));
        running.feed.send(item).ok()?;
        let Some(response) = running.results.next().await else {
            *execution = None;
            return None;
        };
        registry.executions.fetch_add(1, Ordering::Relaxed);
        Some(Utf8Bytes::from(super::protocol::payload(response)))
    }

    fn start(&self, schema: &ChatSchema) -> Execution {
        let (feed, receiver) = mpsc::unbounded_channel();
        let mut request =
            Request::new(self.selection.query.clone()).variables(self.variables.clone());
        request.operation_name = self.selection.operation_name.clone();
        let request = request.data(Feed(Mutex::new(Some(receiver))));
        Execution {
            feed,
            results: schema
                .execute_stream_with_session_data(request, Default::default())
                .boxed(),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let Some(registry) = self.registry.upgrade() else {
            return;
        };
        let mut groups = registry.groups.lock();
        // A new group may already stand under the same selection.
        if groups
            .get(&self.selection)
            .is_some_and(|group| group.strong_count() == 0)
        {
            groups.remove(&self.selection);
        }
    }
}
