//! Chat session operations.

use super::{ChatService, require_id};
use crate::domain::{Chat, ChatFilter, ChatPatch, NewChat, Page, PageRequest, SortOrder, parse_id};
use crate::error::AppResult;
use crate::events::{ChatEventKind, Event};
use crate::store::Updated;

fn chat_event(kind: ChatEventKind) -> impl FnOnce(&Chat) -> Event {
    move |chat| Event::Chat {
        kind,
        chat: chat.clone(),
    }
}

impl ChatService {
    pub async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        let stamped = self.store.create_chat(new).await?;
        Ok(self.publish(stamped, chat_event(ChatEventKind::Created)))
    }

    /// The chat, or `None` for an id that names nothing (malformed included).
    pub async fn get_chat(&self, id: &str) -> AppResult<Option<Chat>> {
        match parse_id(id) {
            Some(id) => self.store.get_chat(id).await,
            None => Ok(None),
        }
    }

    /// Applies a partial update; one that changes nothing is not an event.
    pub async fn update_chat(&self, id: &str, patch: ChatPatch) -> AppResult<Chat> {
        let id = require_id(id, "chat")?;
        Ok(match self.store.update_chat(id, patch).await? {
            Updated::Changed(stamped) => self.publish(stamped, chat_event(ChatEventKind::Updated)),
            Updated::Unchanged(chat) => chat,
        })
    }

    pub async fn toggle_chat(&self, id: &str) -> AppResult<Chat> {
        let stamped = self.store.toggle_chat(require_id(id, "chat")?).await?;
        Ok(self.publish(stamped, chat_event(ChatEventKind::Updated)))
    }

    /// Deletes the chat and returns it as it was.
    pub async fn delete_chat(&self, id: &str) -> AppResult<Chat> {
        let stamped = self.store.delete_chat(require_id(id, "chat")?).await?;
        Ok(self.publish(stamped, chat_event(ChatEventKind::Deleted)))
    }

    pub async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.store.list_chats(filter, order, page).await
    }
}
