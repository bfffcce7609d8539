//! GraphQL over HTTP on `/graphql`: GET for queries, POST for everything, content negotiation
//! and status codes of docs/api.md ("GraphQL over HTTP"). Every failure, the transport's
//! included, is a GraphQL response with `extensions.code`.

use async_graphql::Variables;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::request;
use super::variables::selected_operation;
use super::{Executor, finish_response, request_error};
use crate::body::{bad_request, json_body};
use crate::error::{AppError, ErrorCode};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// A GraphQL-shaped answer with `status`, in the media type the request's `Accept` asks for:
/// for answers given before the endpoint runs (the edge's 401, 408 and 429).
pub fn respond_negotiated(headers: &HeaderMap, status: StatusCode, body: Value) -> Response {
    Format::negotiate(headers).respond(status, &body)
}

/// Which media type the client gets, decided from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `application/json`: status 200 for every GraphQL error.
    Json,
    /// `application/graphql-response+json`: status 400 for parse and validation errors.
    GraphqlResponse,
}

impl Format {
    /// The type with the higher `q` wins, the first listed on a tie; `*/*`, `application/*`
    /// and anything unknown get plain JSON.
    fn negotiate(headers: &HeaderMap) -> Self {
        let mut best: Option<(f32, Self)> = None;
        let ranges = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        for range in ranges {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let format = match media_type.as_str() {
                GRAPHQL_RESPONSE_JSON => Self::GraphqlResponse,
                APPLICATION_JSON | "*/*" | "application/*" => Self::Json,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
        best.map_or(Self::Json, |(_, format)| format)
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        })
    }

    fn respond(self, status: StatusCode, body: &impl Serialize) -> Response {
        let text = serde_json::to_string(body).expect("a GraphQL response serializes");
        let mut response = (status, text).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, self.content_type());
        response
    }

    /// A failure of the transport itself (bad method, media type or body): its own status.
    fn transport_error(self, err: &AppError) -> Response {
        let status = err.code().http_status();
        let body = serde_json::json!({ "errors": [request_error(err)] });
        let mut response = self.respond(status, &body);
        crate::metrics::http::mark_error(&mut response, err.code());
        response
    }
}

fn method_not_allowed(format: Format, message: &str, allow: &'static str) -> Response {
    let err = AppError::new(ErrorCode::MethodNotAllowed, message);
    let mut response = format.transport_error(&err);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The query parameters of a GraphQL GET request, named as GraphQL over HTTP names them
/// (async-graphql's own decoder expects `operation_name` and so ignores `operationName`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    /// A JSON object, as text.
    variables: Option<String>,
}

fn decode_get(uri: &Uri) -> Result<async_graphql::Request, AppError> {
    let invalid =
        |e: &dyn std::fmt::Display| bad_request(format!("invalid GraphQL GET request: {e}"));
    let Query(params) = Query::<GetParams>::try_from_uri(uri).map_err(|e| invalid(&e))?;
    let Some(query) = params.query else {
        return Err(AppError::invalid_field("query", "is required"));
    };
    let mut request = async_graphql::Request::new(query);
    request.operation_name = params.operation_name;
    if let Some(variables) = params.variables {
        request.variables = serde_json::from_str::<Variables>(&variables)
            .map_err(|e| invalid(&format!("invalid variables: {e}")))?;
    }
    Ok(request)
}

/// Decodes the GraphQL request from a GET query string or a POST JSON body. A request that is
/// not well formed (no `query`, members of the wrong type) is a `VALIDATION_ERROR`, answered 400
/// whatever the `Accept`: there is no document to report a parse error about.
fn decode(
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<async_graphql::Request, AppError> {
    if *method == Method::GET {
        return decode_get(uri);
    }
    let body = json_body(headers, body)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("invalid GraphQL request body: {e}")))?;
    let Value::Object(object) = value else {
        return Err(bad_request("request body must be a JSON object"));
    };
    request::from_object(object).map_err(AppError::validation)
}

/// Whether the operation the request selects is a mutation (GET must not run one).
fn selects_mutation(request: &mut async_graphql::Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    selected_operation(document, name.as_deref())
        .is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// A GraphQL response for a failure of the transport, with the error's own status and the
/// media type `Accept` asks for; the WebSocket upgrade answers its refusals with it.
pub(crate) fn transport_error(headers: &HeaderMap, err: &AppError) -> Response {
    Format::negotiate(headers).transport_error(err)
}

/// `GET` and `POST /graphql`.
pub async fn graphql_handler(
    State(executor): State<Executor>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let format = Format::negotiate(&headers);
    if method != Method::GET && method != Method::POST {
        return method_not_allowed(format, "use GET or POST", "GET, POST");
    }
    let mut request = match decode(&method, &headers, &uri, body) {
        Ok(request) => request,
        Err(err) => return format.transport_error(&err),
    };
    if method == Method::GET && selects_mutation(&mut request) {
        return method_not_allowed(format, "mutations must be sent with POST", "POST");
    }

    let body = finish_response(executor.execute(request).await);
    let status = if body.request_failed() && format == Format::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    format.respond(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiation_prefers_the_first_listed_graphql_type() {
        assert_eq!(Format::negotiate(&HeaderMap::new()), Format::Json);
        assert_eq!(Format::negotiate(&accept("*/*")), Format::Json);
        assert_eq!(
            Format::negotiate(&accept(
                "application/graphql-response+json, application/json"
            )),
            Format::GraphqlResponse
        );
        assert_eq!(
            Format::negotiate(&accept(
                "application/json;q=0.9, application/graphql-response+json"
            )),
            Format::GraphqlResponse
        );
        assert_eq!(
            Format::negotiate(&accept(
                "application/json, application/graphql-response+json"
            )),
            Format::Json
        );
        assert_eq!(Format::negotiate(&accept("text/html")), Format::Json);
    }
}
