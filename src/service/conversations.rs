//! Conversation and message operations, including the assistant's turn.

use super::{ChatService, defaults, require_id};
use crate::assistant::ReplyRequest;
use crate::domain::{
    Conversation, Message, MessageContent, MessageFilter, NewConversation, NewMessage, Page,
    PageRequest, Role, SortOrder, UserId, parse_id,
};
use crate::error::{AppError, AppResult};
use crate::store::MessageQuery;
use futures::StreamExt;

/// What the assistant says when its backend produced nothing usable.
const EMPTY_REPLY: &str = "I have no answer to that yet.";

impl ChatService {
    pub async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        self.store.create_conversation(new).await
    }

    /// The conversation, or `None` for an id that names nothing.
    pub async fn get_conversation(&self, id: &str) -> AppResult<Option<Conversation>> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        Ok(self.store.get_conversations(&[id]).await?.pop())
    }

    /// The conversation with its latest [`defaults::EMBEDDED_MESSAGES`] messages, oldest first,
    /// or `None` for an id that names nothing.
    pub async fn get_conversation_detail(
        &self,
        id: &str,
    ) -> AppResult<Option<(Conversation, Vec<Message>)>> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        let Some(conversation) = self.store.get_conversations(&[id]).await?.pop() else {
            return Ok(None);
        };
        let query = MessageQuery {
            conversation_id: id,
            filter: MessageFilter::default(),
            order: SortOrder::Desc,
            page: PageRequest::clamped(defaults::EMBEDDED_MESSAGES, 0),
        };
        // Deleted in between: it names nothing any more.
        let Some(page) = self.store.list_messages(&[query]).await?.pop().flatten() else {
            return Ok(None);
        };
        let mut messages = page.items;
        messages.reverse();
        Ok(Some((conversation, messages)))
    }

    /// Deletes the conversation with its messages and returns it as it was.
    pub async fn delete_conversation(&self, id: &str) -> AppResult<Conversation> {
        self.store
            .delete_conversation(require_id(id, "conversation")?)
            .await
    }

    pub async fn list_conversations(
        &self,
        user_id: &UserId,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        self.store
            .list_conversations(user_id.as_str(), order, page)
            .await
    }

    /// Stores the user's message, asks the assistant, stores its reply; the store announces
    /// both as it commits them.
    pub async fn send_message(
        &self,
        conversation_id: &str,
        new: NewMessage,
    ) -> AppResult<(Message, Message)> {
        let conversation_id = require_id(conversation_id, "conversation")?;
        let user_message = self.store.append_message(conversation_id, new).await?;
        let reply = self.assistant_reply(&user_message).await?;
        let assistant_message = self.store.append_message(conversation_id, reply).await?;
        Ok((user_message, assistant_message))
    }

    /// The assistant's answer to `asked`, which is already stored.
    async fn assistant_reply(&self, asked: &Message) -> AppResult<NewMessage> {
        let conversation_id = asked.conversation_id;
        let query = MessageQuery {
            conversation_id,
            filter: MessageFilter::default(),
            order: SortOrder::Desc,
            page: PageRequest::clamped(defaults::ASSISTANT_HISTORY, 0),
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
        // Newest first. Messages that concurrent requests stored after `asked` are not part of
        // what it answers: drop them, so the history ends with `asked` (or is just `asked`, if
        // so many landed since that it fell out of the window).
        let mut history = history.items;
        match history.iter().position(|m| m.id == asked.id) {
            Some(newer) => {
                history.drain(..newer);
            }
            None => history = vec![asked.clone()],
        }
        history.reverse();
        let mut chunks = self
            .responder
            .respond(ReplyRequest {
                conversation,
                history,
            })
            .await?;
        let mut text = String::new();
        while let Some(chunk) = chunks.next().await {
            text.push_str(&chunk?);
        }
        let content = MessageContent::parse(text).or_else(|problem| {
            tracing::warn!(%problem, "assistant reply unusable; sending the fallback");
            MessageContent::parse(EMPTY_REPLY.to_owned())
        });
        Ok(NewMessage {
            role: Role::Assistant,
            content: content.expect("the fallback reply is valid"),
            metadata: Default::default(),
        })
    }

    /// The message, or `None` for an id that names nothing.
    pub async fn get_message(&self, id: &str) -> AppResult<Option<Message>> {
        match parse_id(id) {
            Some(id) => self.store.get_message(id).await,
            None => Ok(None),
        }
    }

    /// One page of a conversation's messages; `NOT_FOUND` when the conversation does not exist.
    pub async fn list_messages(
        &self,
        conversation_id: &str,
        filter: MessageFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Message>> {
        let query = MessageQuery {
            conversation_id: require_id(conversation_id, "conversation")?,
            filter,
            order,
            page,
        };
        self.store
            .list_messages(&[query])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| AppError::not_found("conversation"))
    }
}
