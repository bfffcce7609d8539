//! Decoding of REST input: JSON bodies, query strings and path ids, with every failure turned
//! into an [`AppError`] so it reaches the client in the error envelope.
//!
//! This module decides only how wire input becomes [`Field`] values and strings; whether a
//! value is acceptable is the domain's call. Body fields keep their JSON type problems as
//! [`Field::Invalid`] so the domain reports them beside every other bad field.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::Uri;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use crate::body::{bad_request, json_body};
use crate::domain::{Field, Priority, parse_count};
use crate::error::{AppError, AppResult, ErrorCode, FieldError};

/// Fields a client may send back from what it fetched; they are ignored, never an error.
pub const READ_ONLY_FIELDS: [&str; 4] = ["id", "createdAt", "updatedAt", "messageCount"];

/// A JSON value a body field may hold. A value of the wrong JSON type is reported with a
/// message instead of failing the whole body.
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, String>;
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err("must be a string".into()),
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            _ => Err("must be a boolean".into()),
        }
    }
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl FromJson for Priority {
    fn from_json(value: Value) -> Result<Self, String> {
        // Any non-string gets the same "must be one of …" message as an unknown string.
        Priority::parse(value.as_str().unwrap_or_default())
    }
}

/// Serde hook for body fields: `null` is [`Field::Null`], a value of the wrong type is
/// [`Field::Invalid`]; an absent field comes from `#[serde(default)]` as [`Field::Absent`].
pub fn field<'de, D, T>(deserializer: D) -> Result<Field<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromJson,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => Field::Null,
        value => match T::from_json(value) {
            Ok(v) => Field::Value(v),
            Err(message) => Field::Invalid(message),
        },
    })
}

/// The known fields of a body beside whatever else the object held.
#[derive(Deserialize)]
struct WithRest<T> {
    #[serde(flatten)]
    known: T,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// A JSON object body decoded into `T` (whose fields are [`Field`]s), remembering the fields
/// `T` does not know so they can be reported together with the domain's findings.
///
/// Refuses what [`json_body`] refuses (413, empty 400, 415), then malformed JSON and a body
/// that is not an object (400).
#[derive(Debug)]
pub struct JsonBody<T> {
    known: T,
    unknown: Vec<FieldError>,
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let headers = req.headers().clone();
        let bytes = json_body(&headers, Bytes::from_request(req, state).await)?;
        Self::decode(&bytes)
    }
}

impl<T: DeserializeOwned> JsonBody<T> {
    /// Decodes the raw bytes of a body already known to be declared JSON and not empty.
    fn decode(bytes: &[u8]) -> AppResult<Self> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| bad_request(format!("request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(bad_request("request body must be a JSON object"));
        }
        let WithRest { known, rest } = serde_json::from_value::<WithRest<T>>(value)
            .map_err(|e| bad_request(format!("request body could not be decoded: {e}")))?;
        let unknown = rest
            .keys()
            .filter(|name| !READ_ONLY_FIELDS.contains(&name.as_str()))
            .map(|name| FieldError::new(name.as_str(), "is not a known field"))
            .collect();
        Ok(Self { known, unknown })
    }

    /// Runs the domain's constructor on the decoded fields; unknown fields are reported after
    /// whatever the domain found, in one `VALIDATION_ERROR`.
    pub fn parse<U>(self, parse: impl FnOnce(T) -> AppResult<U>) -> AppResult<U> {
        let parsed = parse(self.known);
        if self.unknown.is_empty() {
            return parsed;
        }
        let mut fields = match parsed {
            Ok(_) => Vec::new(),
            Err(err) if !err.field_errors().is_empty() => err.field_errors().to_vec(),
            Err(err) => return Err(err),
        };
        fields.extend(self.unknown);
        Err(AppError::validation(fields))
    }
}

/// A query string decoded into `T` (whose fields are optional strings). Unknown parameters
/// are ignored; a parameter `T` knows that is given twice is a 400 naming it.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + IntoParams + 'static,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Self::decode(&parts.uri)
    }
}

/// The query parameter names `T` takes: they come from the same type that documents them,
/// worked out once per type (building its OpenAPI parameters on every request cost more than
/// decoding the query itself).
fn known_names<T: IntoParams + 'static>() -> &'static [String] {
    type Names = HashMap<TypeId, &'static [String]>;
    static NAMES: OnceLock<RwLock<Names>> = OnceLock::new();
    let names = NAMES.get_or_init(RwLock::default);
    let id = TypeId::of::<T>();
    let found = names
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .copied();
    if let Some(known) = found {
        return known;
    }
    let known: Vec<String> = T::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .map(|p| p.name)
        .collect();
    // One small list per query type, kept for the life of the process.
    let known: &'static [String] = Box::leak(known.into_boxed_slice());
    *names
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(id)
        .or_insert(known)
}

impl<T: DeserializeOwned + IntoParams + 'static> QueryParams<T> {
    fn decode(uri: &Uri) -> AppResult<Self> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|_| bad_request("query string is malformed"))?;
        let known = known_names::<T>();
        let mut params = Map::new();
        let mut check = QueryChecker::default();
        for (name, value) in pairs {
            if !known.contains(&name) {
                continue;
            }
            if params.contains_key(&name) {
                if !check.0.iter().any(|e| e.field == name) {
                    check
                        .0
                        .push(FieldError::new(name, "must be given at most once"));
                }
                continue;
            }
            params.insert(name, Value::String(value));
        }
        check.finish(|| ())?;
        serde_json::from_value::<T>(Value::Object(params))
            .map(Self)
            .map_err(|e| bad_request(format!("query string could not be decoded: {e}")))
    }
}

/// Checks query parameter values, collecting every problem before failing.
#[derive(Default)]
pub struct QueryChecker(Vec<FieldError>);

impl QueryChecker {
    /// A parameter parsed by `parse`; `None` when absent or invalid (then it is reported).
    pub fn parse<T>(
        &mut self,
        name: &str,
        raw: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(raw.as_deref()?) {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(FieldError::new(name, message));
                None
            }
        }
    }

    /// A `limit` or `offset`: decimal digits only.
    pub fn count(&mut self, name: &str, raw: Option<String>) -> Option<u64> {
        self.parse(name, raw, parse_count)
    }

    /// A boolean filter: exactly `true` or `false`.
    pub fn boolean(&mut self, name: &str, raw: Option<String>) -> Option<bool> {
        self.parse(name, raw, |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".into()),
        })
    }

    /// Reports a required parameter that is missing.
    pub fn missing(&mut self, name: &str) {
        self.0.push(FieldError::new(name, "is required"));
    }

    /// The checked value, or one `VALIDATION_ERROR` listing every bad parameter.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> AppResult<T> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}

/// The `{id}` segment of a path, as the client spelled it. Whether it names anything is the
/// service's call; a segment that cannot even be decoded names nothing (404).
#[derive(Debug)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::new(ErrorCode::NotFound, "not found"))?;
        Ok(Self(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "field")]
        name: Field<String>,
        #[serde(default, deserialize_with = "field")]
        flag: Field<bool>,
    }

    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    struct Params {
        limit: Option<String>,
    }

    fn decode(raw: &str) -> AppResult<JsonBody<Body>> {
        JsonBody::<Body>::decode(raw.as_bytes())
    }

    #[test]
    fn body_fields_keep_absent_null_value_and_wrong_type_apart() {
        let body = decode(r#"{"name": null, "flag": "yes"}"#).unwrap();
        assert_eq!(body.known.name, Field::Null);
        assert_eq!(body.known.flag, Field::Invalid("must be a boolean".into()));
        let body = decode(r#"{"name": "n"}"#).unwrap();
        assert_eq!(body.known.name, Field::Value("n".into()));
        assert_eq!(body.known.flag, Field::Absent);
    }

    #[test]
    fn unknown_fields_are_reported_after_the_domain_and_read_only_ones_ignored() {
        let body = decode(r#"{"id": 1, "createdAt": 2, "zeta": 3, "alpha": 4}"#).unwrap();
        let err = body
            .parse(|_| -> AppResult<()> { Err(AppError::invalid_field("name", "is required")) })
            .unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            json!([
                {"field": "name", "message": "is required"},
                {"field": "alpha", "message": "is not a known field"},
                {"field": "zeta", "message": "is not a known field"},
            ])
        );
        let clean = decode(r#"{"updatedAt": 1, "messageCount": 2}"#).unwrap();
        assert_eq!(clean.parse(|_| Ok(7)), Ok(7));
    }

    #[test]
    fn a_domain_error_that_is_not_validation_passes_through() {
        let body = decode(r#"{"extra": 1}"#).unwrap();
        let err = body
            .parse(|_| -> AppResult<()> { Err(AppError::not_found("chat")) })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_refused() {
        for raw in ["", "{", "[]", "1", "null", "\"x\""] {
            let err = decode(raw).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ValidationError, "{raw:?}");
            assert!(err.details().is_none(), "{raw:?}");
        }
    }

    #[test]
    fn query_parameters_known_to_the_type_may_appear_once() {
        let uri: Uri = "/x?limit=5&other=1&other=2".parse().unwrap();
        let QueryParams(params) = QueryParams::<Params>::decode(&uri).unwrap();
        assert_eq!(params.limit.as_deref(), Some("5"));
        let uri: Uri = "/x?limit=5&limit=6&limit=7".parse().unwrap();
        let err = QueryParams::<Params>::decode(&uri).unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            json!([{"field": "limit", "message": "must be given at most once"}])
        );
        let uri: Uri = "/x?limit=%2B5".parse().unwrap();
        let QueryParams(params) = QueryParams::<Params>::decode(&uri).unwrap();
        assert_eq!(params.limit.as_deref(), Some("+5"));
    }
}
