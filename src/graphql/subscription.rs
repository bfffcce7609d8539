//! Live updates: each subscription renders the service's live stream and nothing else. A
//! subscriber that fell too far behind gets one `SUBSCRIPTION_LAGGED` error and then the end,
//! never a silent gap.
//!
//! Over a socket, a resolver checks its arguments and subscribes, then hands its live stream
//! to the socket's operation ([`Tap`]); the events are rendered by the one execution its
//! selection's subscribers share, where the resolver renders what it is fed ([`Feed`]).

use async_graphql::{Context, ID, Result, Subscription};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::service;
use super::types::{AssistantReplyError, AssistantReplyEvent, ChatEvent, Message};
use super::ws::{Feed, Tap};
use crate::domain::Role;
use crate::error::{AppError, ErrorCode};
use crate::events::{Change, LiveItem, LiveStream};

/// The `Subscription` root.
#[derive(Default)]
pub struct SubscriptionRoot;

/// A subscriber's results: over a socket, `live` goes to the operation's tap (and this stream
/// ends at once, so the socket's own execution frees what it holds); elsewhere it is rendered
/// here.
fn deliver<T: Send + 'static>(
    ctx: &Context<'_>,
    live: LiveStream,
    pick: fn(&Change) -> Option<T>,
    lagged: &'static str,
) -> BoxStream<'static, Result<T>> {
    match Tap::of(ctx) {
        Some(tap) => {
            tap.hand_over(live, move |change| pick(change).is_some());
            futures::stream::empty().boxed()
        }
        None => render(live, pick, lagged),
    }
}

/// The items `pick` renders from `live`, `lagged` as the error when it fell behind. Ends when
/// the live stream ends.
fn render<T: Send + 'static>(
    live: impl Stream<Item = LiveItem> + Send + 'static,
    pick: fn(&Change) -> Option<T>,
    lagged: &'static str,
) -> BoxStream<'static, Result<T>> {
    live.filter_map(move |item| {
        let rendered = match item {
            LiveItem::Event(change) => pick(&change).map(Ok),
            LiveItem::Lagged => {
                let err = AppError::new(ErrorCode::SubscriptionLagged, lagged);
                Some(Err(err.into()))
            }
            LiveItem::Ended => None,
        };
        futures::future::ready(rendered)
    })
    .boxed()
}

const MESSAGES_LAGGED: &str =
    "fell too far behind and missed messages; resubscribe with `after` to resume";
const REPLIES_LAGGED: &str = "fell too far behind and missed reply pieces; resubscribe";
const CHATS_LAGGED: &str = "fell too far behind and missed chat changes; resubscribe and refetch";

/// What `messageAdded` renders of a conversation's change.
fn added_message(change: &Change) -> Option<Message> {
    match change {
        Change::MessageAdded(m) => Some(Message(m.clone())),
        _ => None,
    }
}

/// What `chatChanged` renders of a chat's change.
fn chat_event(change: &Change) -> Option<ChatEvent> {
    change.chat_event().map(|(kind, chat)| ChatEvent {
        kind: kind.into(),
        chat: chat.clone(),
    })
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every message stored in the conversation, in stored order; completes when it is deleted.
    /// With `after` (a message of this conversation), the messages stored after it come first,
    /// then the new ones, without a gap or a repeat: how a subscriber resumes.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        after: Option<ID>,
    ) -> Result<BoxStream<'static, Result<Message>>> {
        if let Some(fed) = Feed::of(ctx) {
            return Ok(render(fed, added_message, MESSAGES_LAGGED));
        }
        let after = after.as_ref().map(|id| id.as_str());
        let (_, live) = service(ctx)
            .watch_conversation(&conversation_id, after)
            .await?;
        Ok(deliver(ctx, live, added_message, MESSAGES_LAGGED))
    }

    /// The assistant's replies in the conversation as they are written, piece by piece, each
    /// ending with an item that has `done: true` and the stored `message` (or the `error` that
    /// stopped it). Completes when the conversation is deleted. Failures are data, not GraphQL
    /// errors, so a client's subscription outlives a failed reply.
    async fn assistant_reply(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<BoxStream<'static, Result<AssistantReplyEvent>>> {
        if let Some(fed) = Feed::of(ctx) {
            return Ok(render(fed, reply_event, REPLIES_LAGGED));
        }
        let (_, live) = service(ctx)
            .watch_conversation(&conversation_id, None)
            .await?;
        Ok(deliver(ctx, live, reply_event, REPLIES_LAGGED))
    }

    /// Every create, update, toggle and delete of chats, or of the one chat `id` (which
    /// completes after its `DELETED`).
    async fn chat_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> Result<BoxStream<'static, Result<ChatEvent>>> {
        if let Some(fed) = Feed::of(ctx) {
            return Ok(render(fed, chat_event, CHATS_LAGGED));
        }
        let live = service(ctx)
            .watch_chats(id.as_ref().map(|id| id.as_str()))
            .await?;
        Ok(deliver(ctx, live, chat_event, CHATS_LAGGED))
    }
}

/// What `assistantReply` renders of a conversation's change.
fn reply_event(change: &Change) -> Option<AssistantReplyEvent> {
    let item = |conversation_id: &uuid::Uuid, message_id: &uuid::Uuid| AssistantReplyEvent {
        conversation_id: super::scalars::id(*conversation_id),
        message_id: super::scalars::id(*message_id),
        delta: String::new(),
        done: true,
        error: None,
        message: None,
    };
    match change {
        Change::AssistantDelta {
            conversation_id,
            message_id,
            delta,
        } => Some(AssistantReplyEvent {
            delta: delta.clone(),
            done: false,
            ..item(conversation_id, message_id)
        }),
        Change::AssistantFailed {
            conversation_id,
            message_id,
            code,
            message,
        } => Some(AssistantReplyEvent {
            error: Some(AssistantReplyError {
                code: code.as_str().to_owned(),
                message: message.clone(),
            }),
            ..item(conversation_id, message_id)
        }),
        Change::MessageAdded(message) if message.role == Role::Assistant => {
            Some(AssistantReplyEvent {
                message: Some(message.clone()),
                ..item(&message.conversation_id, &message.id)
            })
        }
        _ => None,
    }
}
