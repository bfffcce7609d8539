//! Domain types and every input rule of docs/api.md ("Records", "Requests"), in one place.
//!
//! Transports decode their wire input into [`Field`] values and call the constructors here;
//! nothing else validates. Constructors collect every offending field before failing, so a
//! client learns about all its mistakes at once.

mod chat;
mod conversation;
mod field;
mod message;
mod page;
mod text;
mod time;

pub use chat::{Chat, ChatFields, ChatFilter, ChatPatch, NewChat, Priority, Version};
pub use conversation::{Conversation, NewConversation};
pub use field::{Field, Metadata, parse_id};
pub use message::{Message, MessageFilter, NewMessage, Position, Role};
pub use page::{Page, PageRequest, SortOrder, parse_count};
pub use text::{Description, MESSAGE_MAX_CHARS, MessageContent, Title, UserId};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
