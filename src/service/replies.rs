//! The assistant's turn: the service, not the request, owns it.
//!
//! Sending a message runs as a task of its own: it waits for the conversation's turn, stores
//! the user's message, streams the reply and stores it. The request only waits for the
//! outcome, so a client that disconnects or a request that times out cancels nothing; the
//! reply is stored and announced all the same. If the assistant fails, nothing is stored as a
//! reply and the error (`ASSISTANT_UNAVAILABLE`) carries the stored user message, so a client
//! can ask for the reply again with `regenerate_reply`.

use std::future::Future;

use futures::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use super::writing::{Deltas, ReplyText};
use super::{ChatService, defaults, require_id};
use crate::assistant::{ReplyPiece, ReplyRequest};
use crate::domain::{
    Message, MessageContent, MessageFilter, Metadata, NewMessage, PageRequest, Role, SortOrder,
};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::MessageQuery;

impl ChatService {
    /// Stores the user's message, then the assistant's reply to it; both are announced. Runs
    /// to the end even if the caller stops waiting. Within a conversation one exchange runs
    /// at a time: this waits for the reply being written before storing its message.
    pub async fn send_message(
        &self,
        conversation_id: &str,
        new: NewMessage,
    ) -> AppResult<(Message, Message)> {
        let conversation_id = require_id(conversation_id, "conversation")?;
        let service = self.clone();
        self.detached(async move {
            let _turn = service.turns.take(conversation_id).await;
            let user_message = service.store.append_message(conversation_id, new).await?;
            let reply = service.answer(&user_message).await;
            Ok((
                user_message.clone(),
                with_user_message(reply, &user_message)?,
            ))
        })
        .await
    }

    /// Produces the missing reply to a user message whose reply failed. The message must be
    /// its conversation's latest (nothing answered it or came after it).
    pub async fn regenerate_reply(&self, message_id: &str) -> AppResult<Message> {
        let message_id = require_id(message_id, "message")?;
        let service = self.clone();
        self.detached(async move {
            let asked = service.store.get_message(message_id).await?;
            let asked = asked.ok_or_else(|| AppError::not_found("message"))?;
            let _turn = service.turns.take(asked.conversation_id).await;
            if asked.role != Role::User {
                return Err(AppError::invalid_field(
                    "messageId",
                    "must name a user message",
                ));
            }
            match service.latest_message(asked.conversation_id).await? {
                None => return Err(AppError::not_found("message")),
                Some(latest) if latest.id != asked.id => {
                    return Err(AppError::invalid_field(
                        "messageId",
                        "already has a reply or later messages: only the conversation's \
                         latest message can be answered again",
                    ));
                }
                Some(_) => {}
            }
            let reply = service.answer(&asked).await;
            with_user_message(reply, &asked)
        })
        .await
    }

    /// Runs `work` as a task of the service: it finishes even if the caller stops waiting.
    async fn detached<T: Send + 'static>(
        &self,
        work: impl Future<Output = AppResult<T>> + Send + 'static,
    ) -> AppResult<T> {
        self.replies
            .spawn(work)
            .await
            .unwrap_or_else(|failed| Err(AppError::internal(failed)))
    }

    /// Waits until every exchange started so far has finished (for a graceful shutdown).
    pub async fn replies_finished(&self) {
        self.replies.close();
        self.replies.wait().await;
    }

    /// How many conversations have an exchange running or waiting; 0 once all have finished.
    pub fn exchanges_in_progress(&self) -> usize {
        self.turns.active()
    }

    /// The conversation's newest message; `None` when the conversation is gone.
    async fn latest_message(&self, conversation_id: Uuid) -> AppResult<Option<Message>> {
        let query = MessageQuery {
            conversation_id,
            filter: MessageFilter::default(),
            order: SortOrder::Desc,
            page: PageRequest::clamped(1, 0),
        };
        let page = self.store.list_messages(&[query]).await?.pop().flatten();
        Ok(page.and_then(|page| page.items.into_iter().next()))
    }

    /// Streams the assistant's answer to `asked` (already stored), announcing each piece as it
    /// is written, and stores it whole; a failure is announced too, and nothing is stored.
    async fn answer(&self, asked: &Message) -> AppResult<Message> {
        let reply_id = Uuid::new_v4();
        let mut deltas = Deltas::new(self.store.clone(), asked.conversation_id, reply_id);
        match self.write_reply(asked, reply_id, &mut deltas).await {
            Ok(reply) => Ok(reply),
            Err(err) => {
                deltas.fail(&err).await;
                Err(err)
            }
        }
    }

    async fn write_reply(
        &self,
        asked: &Message,
        reply_id: Uuid,
        deltas: &mut Deltas,
    ) -> AppResult<Message> {
        let request = self.reply_request(asked).await?;
        let mut pieces = self.responder.respond(request).await.map_err(unavailable)?;
        let mut reply = ReplyText::default();
        let mut metadata = Metadata::new();
        loop {
            let due = deltas.due_at();
            let piece = tokio::select! {
                piece = pieces.next() => piece,
                () = sleep_until_some(due), if due.is_some() => {
                    deltas.flush().await;
                    continue;
                }
            };
            match piece.transpose().map_err(unavailable)? {
                None => break,
                Some(ReplyPiece::Text(text)) => {
                    deltas.push(reply.push(&text)).await;
                    if reply.is_full() {
                        metadata.insert("finishReason".into(), json!("length"));
                        break;
                    }
                }
                Some(ReplyPiece::Info(info)) => metadata.extend(info),
            }
        }
        // Every piece is out before the stored reply is announced.
        deltas.flush().await;
        let content = MessageContent::parse(reply.into_text()).map_err(|_| {
            AppError::assistant_unavailable("The assistant is unavailable: the reply was empty")
        })?;
        let new = NewMessage {
            id: reply_id,
            role: Role::Assistant,
            content,
            metadata,
        };
        self.store.append_message(asked.conversation_id, new).await
    }

    /// The conversation and its latest messages up to `asked`, as the responder wants them.
    async fn reply_request(&self, asked: &Message) -> AppResult<ReplyRequest> {
        let conversation_id = asked.conversation_id;
        let wanted = self
            .responder
            .history_messages()
            .clamp(1, defaults::MESSAGES_LIMIT);
        let query = MessageQuery {
            conversation_id,
            filter: MessageFilter::default(),
            order: SortOrder::Desc,
            page: PageRequest::clamped(wanted, 0),
        };
        let conversation = self
            .store
            .get_conversations(&[conversation_id])
            .await?
            .pop();
        let history = self.store.list_messages(&[query]).await?.pop().flatten();
        let (Some(conversation), Some(history)) = (conversation, history) else {
            return Err(AppError::not_found("conversation"));
        };
        // Newest first. Anything stored after `asked` (by another instance, say) is not part
        // of what it answers: drop it, so the history ends with `asked`.
        let mut history = history.items;
        match history.iter().position(|m| m.id == asked.id) {
            Some(newer) => {
                history.drain(..newer);
            }
            None => history = vec![asked.clone()],
        }
        history.reverse();
        Ok(ReplyRequest {
            conversation,
            history,
        })
    }
}

/// Sleeps until `at` (callers only poll this when there is one).
async fn sleep_until_some(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// Any responder failure is the assistant's being unavailable to the client.
fn unavailable(err: AppError) -> AppError {
    if err.code() == ErrorCode::AssistantUnavailable {
        err
    } else {
        AppError::assistant_unavailable("The assistant is unavailable")
    }
}

/// Adds the stored user message to an `ASSISTANT_UNAVAILABLE` error as `details.userMessage`,
/// in the message's one wire shape.
fn with_user_message<T>(outcome: AppResult<T>, user_message: &Message) -> AppResult<T> {
    outcome.map_err(|err| {
        if err.code() != ErrorCode::AssistantUnavailable {
            return err;
        }
        let message = serde_json::to_value(user_message).expect("a message serializes");
        err.with_details(json!({ "userMessage": message }))
    })
}
