//! What REST clients send: request bodies and query strings, each as one type that both
//! decodes the input and documents it in the OpenAPI description, so the two cannot disagree.
//!
//! Decoding ends at domain input ([`ChatFields`], [`PageRequest`], filters); the domain checks
//! the values.

use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{QueryChecker, field};
use crate::domain::{
    ChatFields, ChatFilter, Field, MessageFilter, PageRequest, Priority, Role, SortOrder, UserId,
};
use crate::error::AppResult;
use crate::service::defaults;

/// The body of `POST /chats`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateChatRequest)]
pub struct CreateChat {
    /// 1 to 200 characters after trimming; stored trimmed; no control characters.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    pub title: Field<String>,
    /// At most 1000 characters; `\n`, `\r` and `\t` allowed; `null` means none.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Field<String>,
    /// Defaults to `true`.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<bool>)]
    pub active: Field<bool>,
    /// Defaults to `medium`.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Field<Priority>,
    /// 1 to 200 characters, not blank.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub user_id: Field<String>,
}

/// The body of `PUT /chats/{id}`: only the fields present change; `null` clears
/// `description` and `userId`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UpdateChatRequest)]
pub struct UpdateChat {
    /// 1 to 200 characters after trimming; `null` is refused.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub title: Field<String>,
    /// At most 1000 characters; `null` clears it.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Field<String>,
    /// `null` is refused.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = bool)]
    pub active: Field<bool>,
    /// `null` is refused.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Priority)]
    pub priority: Field<Priority>,
    /// 1 to 200 characters; `null` clears it.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub user_id: Field<String>,
}

impl From<CreateChat> for ChatFields {
    fn from(body: CreateChat) -> Self {
        ChatFields {
            title: body.title,
            description: body.description,
            active: body.active,
            priority: body.priority,
            user_id: body.user_id,
        }
    }
}

impl From<UpdateChat> for ChatFields {
    fn from(body: UpdateChat) -> Self {
        ChatFields {
            title: body.title,
            description: body.description,
            active: body.active,
            priority: body.priority,
            user_id: body.user_id,
        }
    }
}

/// The body of `POST /api/conversations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateConversationRequest)]
pub struct CreateConversation {
    /// 1 to 200 characters, not blank.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    pub user_id: Field<String>,
    /// Any JSON object; `{}` when absent.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Field<Value>,
}

/// The body of `POST /api/conversations/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SendMessageRequest)]
pub struct SendMessage {
    /// Not blank, at most 32,000 characters; `\n`, `\r` and `\t` allowed.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 32000)]
    pub content: Field<String>,
    /// Any JSON object; `{}` when absent.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Field<Value>,
}

/// Parses the optional `order` parameter, falling back to the list's default direction.
fn order(check: &mut QueryChecker, raw: Option<String>, default: SortOrder) -> SortOrder {
    check
        .parse("order", raw, SortOrder::parse)
        .unwrap_or(default)
}

/// `GET /chats` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ChatListQuery {
    /// Only chats with this status: `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub active: Option<String>,
    /// Only chats with this priority.
    #[param(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// Only chats of this user (exact match).
    pub user_id: Option<String>,
    /// Page size, decimal digits only; larger than 100 is clamped to 100.
    #[param(value_type = Option<u64>, default = 100, maximum = 100)]
    pub limit: Option<String>,
    /// Items to skip, decimal digits only.
    #[param(value_type = Option<u64>, default = 0)]
    pub offset: Option<String>,
    /// By creation time; default `asc`.
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
}

impl ChatListQuery {
    /// The filter, order and page asked for, or one error listing every bad parameter.
    pub fn parse(self) -> AppResult<(ChatFilter, SortOrder, PageRequest)> {
        let mut check = QueryChecker::default();
        let active = check.boolean("active", self.active);
        let priority = check.parse("priority", self.priority, Priority::parse);
        let page = page(&mut check, self.limit, self.offset, defaults::CHATS_LIMIT);
        let order = order(&mut check, self.order, defaults::CHATS_ORDER);
        let user_id = check.parse("userId", self.user_id, |v| {
            UserId::parse(v.to_owned()).map(UserId::into_inner)
        });
        check.finish(|| {
            let filter = ChatFilter {
                active,
                priority,
                user_id,
            };
            (filter, order, page)
        })
    }
}

/// `GET /api/conversations` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ConversationListQuery {
    /// Whose conversations; required.
    #[param(required = true, value_type = String)]
    pub user_id: Option<String>,
    /// Page size, decimal digits only; larger than 100 is clamped to 100.
    #[param(value_type = Option<u64>, default = 50, maximum = 100)]
    pub limit: Option<String>,
    /// Items to skip, decimal digits only.
    #[param(value_type = Option<u64>, default = 0)]
    pub offset: Option<String>,
    /// By creation time; default `desc` (newest first).
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
}

impl ConversationListQuery {
    /// Whose conversations, in which order, which page; `userId` is required.
    pub fn parse(self) -> AppResult<(UserId, SortOrder, PageRequest)> {
        let mut check = QueryChecker::default();
        let user_id = match self.user_id {
            Some(raw) => check.parse("userId", Some(raw), |v| UserId::parse(v.to_owned())),
            None => {
                check.missing("userId");
                None
            }
        };
        let page = page(
            &mut check,
            self.limit,
            self.offset,
            defaults::CONVERSATIONS_LIMIT,
        );
        let order = order(&mut check, self.order, defaults::CONVERSATIONS_ORDER);
        check.finish(|| {
            let user_id = user_id.expect("a missing or invalid userId was reported");
            (user_id, order, page)
        })
    }
}

/// `GET /api/conversations/{id}/messages` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct MessageListQuery {
    /// Page size, decimal digits only; larger than 100 is clamped to 100.
    #[param(value_type = Option<u64>, default = 100, maximum = 100)]
    pub limit: Option<String>,
    /// Items to skip, decimal digits only.
    #[param(value_type = Option<u64>, default = 0)]
    pub offset: Option<String>,
    /// By creation time; default `asc` (oldest first).
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
    /// Only messages of this author.
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
}

impl MessageListQuery {
    /// The role filter, order and page asked for, or one error listing every bad parameter.
    pub fn parse(self) -> AppResult<(MessageFilter, SortOrder, PageRequest)> {
        let mut check = QueryChecker::default();
        let page = page(
            &mut check,
            self.limit,
            self.offset,
            defaults::MESSAGES_LIMIT,
        );
        let order = order(&mut check, self.order, defaults::MESSAGES_ORDER);
        let role = check.parse("role", self.role, Role::parse);
        check.finish(|| (MessageFilter { role }, order, page))
    }
}

/// `limit` and `offset` with the list's default limit, clamped by the domain.
fn page(
    check: &mut QueryChecker,
    limit: Option<String>,
    offset: Option<String>,
    default_limit: u64,
) -> PageRequest {
    let limit = check.count("limit", limit);
    let offset = check.count("offset", offset);
    PageRequest::clamped(limit.unwrap_or(default_limit), offset.unwrap_or(0))
}
