//! Live updates. Each subscription listens to its own hub topic from before it checks that
//! the target exists, so no change between the check and the first event is missed.

use async_graphql::{Context, ID, Result, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::service;
use super::types::{ChatEvent, Message};
use crate::error::{AppError, ErrorCode};
use crate::events::{Event, TopicReceiver};

/// The `Subscription` root.
#[derive(Default)]
pub struct SubscriptionRoot;

/// Turns a hub receiver into a stream of items. Ends when the topic ends; a subscriber that fell
/// too far behind gets one `SUBSCRIPTION_LAGGED` error and then the end, never a silent gap.
fn live<T: Send + 'static>(
    rx: TopicReceiver,
    pick: fn(&Event) -> Option<T>,
) -> impl Stream<Item = Result<T>> {
    futures::stream::unfold(Some(rx), move |state| async move {
        let mut rx = state?;
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(item) = pick(&event) {
                        return Some((Ok(item), Some(rx)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let err = AppError::new(
                        ErrorCode::SubscriptionLagged,
                        format!("missed {missed} events; resubscribe"),
                    );
                    return Some((Err(err.into()), None));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every message stored in the conversation, in stored order; completes when it is deleted.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<impl Stream<Item = Result<Message>> + use<>> {
        let (_, rx) = service(ctx).watch_conversation(&conversation_id).await?;
        Ok(live(rx, |event| match event {
            Event::MessageAdded(m) => Some(Message(m.clone())),
            _ => None,
        }))
    }

    /// Every create, update, toggle and delete of chats, or of the one chat `id` (which
    /// completes after its `DELETED`).
    async fn chat_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ChatEvent>> + use<>> {
        let rx = service(ctx)
            .watch_chats(id.as_ref().map(|id| id.as_str()))
            .await?;
        Ok(live(rx, |event| match event {
            Event::Chat { kind, chat } => Some(ChatEvent {
                kind: (*kind).into(),
                chat: chat.clone(),
            }),
            _ => None,
        }))
    }
}
