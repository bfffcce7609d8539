//! The OpenAPI 3.1 description of the REST API, served at `/openapi.json` (Swagger UI at
//! `/docs`).
//!
//! Paths, parameters, bodies and success responses come from the handlers' own
//! `#[utoipa::path]` attributes and types, collected while the router is built, so the document
//! cannot list a route the router lacks or miss one it has. The error answers each operation
//! can give follow from what the operation takes, and are added here by one rule:
//! every operation may answer 405, 408 and 500; one with a path id 404; one with query
//! parameters or a body 400; one with a body 413 and 415; every one outside `/health*` 401
//! (when keys are configured) and 429 (in the chatbot body under `/api`); one that asks the
//! assistant ([`ASKS_ASSISTANT`]) 400 and 502. An operation that may answer 401 lists the key
//! schemes as its `security`, with the empty alternative since keys are optional; the others
//! say `security: []`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, ContentBuilder, HeaderBuilder, OpenApi, Paths, Ref, RefOr, Response,
    ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use super::openapi_schemas::declare_free_form_objects;
use crate::domain::{Priority, Role, SortOrder};
use crate::error::ErrorCode;

/// The document's fixed parts; the paths are added by the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "chatgate REST API",
        description = "Chat sessions (`/chats`), conversations and messages (`/api`, also under \
                       `/api/v1`) and health checks. Every error answers the envelope \
                       `{\"error\": {\"code\", \"message\", \"details\"}}`. Bodies are JSON \
                       objects of at most 1 MiB; unknown fields are refused, the read-only \
                       fields `id`, `createdAt`, `updatedAt` and `messageCount` are ignored."
    ),
    servers((url = "/", description = "The server this document is served from")),
    components(schemas(ErrorEnvelope, ErrorBody, Priority, Role, SortOrder)),
    tags(
        (name = "chats", description = "Chat sessions"),
        (name = "conversations", description = "A user's conversations with the assistant"),
        (name = "messages", description = "Messages of a conversation"),
        (name = "health", description = "Liveness of the server and its store")
    )
)]
pub struct ApiDoc;

/// The body of every REST error answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable code to match on, e.g. `VALIDATION_ERROR`, `NOT_FOUND`.
    pub code: String,
    /// For people; never carries internal detail.
    pub message: String,
    /// Always an object: for `VALIDATION_ERROR` `{"fields": [{"field", "message"}, …]}` listing
    /// every bad field, `{"retryAfter": N}` on a 429, `{}` when there is nothing to add.
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, Value>,
}

/// A string schema with exactly these values.
fn string_enum(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// The REST spelling of every priority, straight from the domain.
pub fn priority_values() -> Vec<&'static str> {
    Priority::ALL.iter().map(|p| p.as_str()).collect()
}

/// The REST spelling of every role; a unit test proves the domain parses each.
pub const ROLE_VALUES: [&str; 2] = ["user", "assistant"];
/// The REST spelling of every sort order; a unit test proves the domain parses each.
pub const ORDER_VALUES: [&str; 2] = ["asc", "desc"];

impl PartialSchema for Priority {
    fn schema() -> RefOr<Schema> {
        string_enum(&priority_values())
    }
}
impl ToSchema for Priority {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Priority")
    }
}
impl PartialSchema for Role {
    fn schema() -> RefOr<Schema> {
        string_enum(&ROLE_VALUES)
    }
}
impl ToSchema for Role {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}
impl PartialSchema for SortOrder {
    fn schema() -> RefOr<Schema> {
        string_enum(&ORDER_VALUES)
    }
}
impl ToSchema for SortOrder {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SortOrder")
    }
}

/// The error answers, by status: component name, code and description.
const ERRORS: [(u16, &str, ErrorCode, &str); 10] = [
    (
        400,
        "BadRequest",
        ErrorCode::ValidationError,
        "Invalid input: a bad field or query parameter (all listed in `details.fields`), \
         malformed JSON, an empty body or a body that is not an object",
    ),
    (
        401,
        "Unauthorized",
        ErrorCode::Unauthorized,
        "API keys are configured and the request carries none, or a wrong one, in `X-API-Key` \
         or `Authorization: Bearer`",
    ),
    (
        404,
        "NotFound",
        ErrorCode::NotFound,
        "No such resource (a malformed id names nothing either)",
    ),
    (
        405,
        "MethodNotAllowed",
        ErrorCode::MethodNotAllowed,
        "This path does not take that method; `Allow` lists the ones it takes",
    ),
    (
        408,
        "RequestTimeout",
        ErrorCode::RequestTimeout,
        "The request took longer than 30 seconds",
    ),
    (
        413,
        "PayloadTooLarge",
        ErrorCode::PayloadTooLarge,
        "The body is larger than 1 MiB (1,048,576 bytes)",
    ),
    (
        415,
        "UnsupportedMediaType",
        ErrorCode::UnsupportedMediaType,
        "The body is not declared `application/json`",
    ),
    (
        429,
        "RateLimited",
        ErrorCode::RateLimited,
        "Too many requests from this IP in the last 60 seconds; `details.retryAfter` and \
         `Retry-After` say when to try again",
    ),
    (
        500,
        "InternalError",
        ErrorCode::InternalError,
        "Something failed on the server; the message carries no internal detail",
    ),
    (
        502,
        "AssistantUnavailable",
        ErrorCode::AssistantUnavailable,
        "The assistant's model failed after its retries; nothing was stored as a reply. \
         `details.userMessage` is the stored user message: ask for its reply again with \
         `POST /api/messages/{id}/reply`",
    ),
];

/// The operations (by handler name) that ask the assistant for a reply, and so may answer
/// 502 `ASSISTANT_UNAVAILABLE` (and 400 for a message that cannot be answered again).
const ASKS_ASSISTANT: [&str; 2] = ["send_message", "regenerate_reply"];

/// The component of the 429 the chatbot API fixes (docs/api.md, "Rate limit"), used under `/api`.
const CHATBOT_RATE_LIMITED: &str = "ChatbotRateLimited";

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(String::schema())
        .description(Some(description))
        .build()
}

/// The headers every 429 carries.
fn with_rate_limit_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header(
            "Retry-After",
            header("Whole seconds (at least 1) until a request is admitted"),
        )
        .header(
            "X-RateLimit-Limit",
            header("Requests allowed per IP in any 60 seconds"),
        )
        .header(
            "X-RateLimit-Remaining",
            header("Requests left in the window (0)"),
        )
        .header(
            "X-RateLimit-Reset",
            header("Unix second at which the oldest counted request leaves the window"),
        )
}

fn chatbot_rate_limited() -> Response {
    let schema = ObjectBuilder::new()
        .property("error", String::schema())
        .property("message", String::schema())
        .property("retryAfter", u64::schema())
        .required("error")
        .required("message")
        .required("retryAfter");
    let example = json!({
        "error": "Rate limit exceeded",
        "message": "Too many requests, please try again later",
        "retryAfter": 60,
    });
    let content = ContentBuilder::new()
        .schema(Some(schema))
        .example(Some(example))
        .build();
    with_rate_limit_headers(ResponseBuilder::new())
        .description("Too many requests from this IP in the last 60 seconds")
        .content("application/json", content)
        .build()
}

fn error_response(code: ErrorCode, description: &str) -> Response {
    let example = json!({"error": {"code": code.as_str(), "message": description, "details": {}}});
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
        .example(Some(example))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if code == ErrorCode::RateLimited {
        response = with_rate_limit_headers(response);
    }
    if code == ErrorCode::Unauthorized {
        let challenge = header("`Bearer realm=\"chatgate\"`");
        response = response.header("WWW-Authenticate", challenge);
    }
    if code == ErrorCode::MethodNotAllowed {
        response = response.header(
            "Allow",
            header("The methods this path takes, e.g. `GET, POST`"),
        );
    }
    response.build()
}

/// Which error statuses an operation can answer, from its path and what it takes.
fn error_statuses(path: &str, operation: &Operation) -> Vec<u16> {
    let takes = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == place)
    };
    let body = operation.request_body.is_some();
    let mut statuses = vec![405, 408, 500];
    if takes(ParameterIn::Query) || body {
        statuses.push(400);
    }
    if takes(ParameterIn::Path) {
        statuses.push(404);
    }
    if body {
        statuses.extend([413, 415]);
    }
    if !(path == "/health" || path.starts_with("/health/")) {
        statuses.extend([401, 429]);
    }
    let id = operation.operation_id.as_deref().unwrap_or_default();
    if ASKS_ASSISTANT.contains(&id) {
        statuses.extend([400, 502]);
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// The names of the key schemes in `components.securitySchemes`.
const API_KEY_SCHEME: &str = "apiKey";
const BEARER_SCHEME: &str = "bearer";

/// The two ways to present a key (docs/api.md, "Authentication").
fn add_security_schemes(components: &mut Components) {
    components.add_security_scheme(
        API_KEY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-API-Key",
            "One of the keys the server is configured with (`API_KEYS`); without keys \
             configured, none is needed",
        ))),
    );
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The same key as a bearer token: `Authorization: Bearer <key>`",
                ))
                .build(),
        ),
    );
}

/// `security` of an operation that may answer 401: either key scheme, or nothing at all when
/// the server has no keys configured.
fn key_alternatives() -> Vec<SecurityRequirement> {
    let no_scopes = Vec::<String>::new;
    vec![
        SecurityRequirement::new(API_KEY_SCHEME, no_scopes()),
        SecurityRequirement::new(BEARER_SCHEME, no_scopes()),
        SecurityRequirement::default(),
    ]
}

fn operations_mut(paths: &mut Paths) -> impl Iterator<Item = (&String, &mut Operation)> {
    paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        .map(move |op| (&*path, op))
    })
}

/// Completes the collected document: error responses and `security` for every operation,
/// the key schemes, free-form objects that say so, and distinct operation ids for the
/// `/api/v1` aliases.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Components::new);
    add_security_schemes(components);
    for (_, name, code, description) in ERRORS {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(error_response(code, description)));
    }
    components.responses.insert(
        CHATBOT_RATE_LIMITED.to_owned(),
        RefOr::T(chatbot_rate_limited()),
    );
    for (path, operation) in operations_mut(&mut doc.paths) {
        let statuses = error_statuses(path, operation);
        operation.security = Some(if statuses.contains(&401) {
            key_alternatives()
        } else {
            Vec::new()
        });
        for status in statuses {
            let name = if status == 429 && path.starts_with("/api/") {
                CHATBOT_RATE_LIMITED
            } else {
                ERRORS
                    .iter()
                    .find(|(s, ..)| *s == status)
                    .map(|(_, name, ..)| *name)
                    .expect("every status the rule picks has a response component")
            };
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
        if let Some(unversioned) = path.strip_prefix("/api/v1") {
            if let Some(id) = &operation.operation_id {
                operation.operation_id = Some(format!("{id}_v1"));
            }
            let alias = format!("Alias of `/api{unversioned}`.");
            operation.description = Some(match operation.description.take() {
                Some(d) => format!("{d}\n\n{alias}"),
                None => alias,
            });
        }
    }
    let operations = operations_mut(&mut doc.paths).map(|(_, operation)| operation);
    declare_free_form_objects(doc.components.as_mut(), operations);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_enum_values_are_exactly_what_the_domain_parses() {
        for role in ROLE_VALUES {
            let parsed = Role::parse(role).expect("documented role parses");
            assert_eq!(serde_json::to_value(parsed).unwrap(), role);
        }
        for order in ORDER_VALUES {
            assert!(SortOrder::parse(order).is_ok(), "{order}");
        }
        for priority in priority_values() {
            assert!(Priority::parse(priority).is_ok(), "{priority}");
        }
    }

    #[test]
    fn the_documented_envelope_is_the_one_errors_render() {
        let err = crate::error::AppError::invalid_field("title", "is required");
        let envelope: ErrorEnvelope =
            serde_json::from_value(err.envelope()).expect("envelope matches its schema");
        assert_eq!(envelope.error.code, "VALIDATION_ERROR");
        let bare = crate::error::AppError::not_found("chat");
        let envelope: ErrorEnvelope =
            serde_json::from_value(bare.envelope()).expect("envelope matches its schema");
        assert!(envelope.error.details.is_empty());
    }

    #[test]
    fn each_error_status_matches_its_code() {
        for (status, _, code, _) in ERRORS {
            assert_eq!(code.http_status().as_u16(), status);
        }
    }
}
