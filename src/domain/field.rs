//! The tri-state input field and the small shared decoders (ids, metadata).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldError};

/// An input field as a transport received it. `Null` and `Absent` differ: in an update, `null`
/// clears a value while an absent field leaves it alone. `Invalid` carries a decoding problem
/// (wrong JSON type, unknown enum value) so the domain can report it beside every other field.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
    Invalid(String),
}

impl<T> Field<T> {
    /// A field from an optional value where `None` means absent (GraphQL nullable arguments
    /// that have no "clear" meaning).
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Field::Absent, Field::Value)
    }

    /// Applies a parser to a present value, keeping the other states.
    pub fn and_then<U>(self, parse: impl FnOnce(T) -> Result<U, String>) -> Field<U> {
        match self {
            Field::Value(v) => match parse(v) {
                Ok(u) => Field::Value(u),
                Err(message) => Field::Invalid(message),
            },
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Invalid(message) => Field::Invalid(message),
        }
    }
}

/// Collects field errors while decoding, so every bad field is reported together.
#[derive(Default)]
pub(crate) struct Checker(Vec<FieldError>);

impl Checker {
    /// A present, non-null value passed through `parse`; `None` if absent.
    pub(crate) fn value<T, U>(
        &mut self,
        name: &str,
        field: Field<T>,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<Option<U>> {
        match field {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Value(v) => match parse(v) {
                Ok(u) => Some(Some(u)),
                Err(message) => {
                    self.0.push(FieldError::new(name, message));
                    None
                }
            },
            Field::Invalid(message) => {
                self.0.push(FieldError::new(name, message));
                None
            }
        }
    }

    /// Like [`Checker::value`] for a field where `null` is not allowed.
    pub(crate) fn non_null<T, U>(
        &mut self,
        name: &str,
        field: Field<T>,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        match self.value(name, field, parse) {
            Some(None) => {
                self.0.push(FieldError::new(name, "must not be null"));
                None
            }
            other => other.flatten(),
        }
    }

    /// Like [`Checker::non_null`] for a field that must be given: absent or `null` is
    /// reported as "is required".
    pub(crate) fn required<T, U>(
        &mut self,
        name: &str,
        field: Field<T>,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        if matches!(field, Field::Absent | Field::Null) {
            self.0.push(FieldError::new(name, "is required"));
            return None;
        }
        self.non_null(name, field, parse)
    }

    pub(crate) fn finish<T>(self, value: impl FnOnce() -> T) -> AppResult<T> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}

/// Free-form metadata: always a JSON object, `{}` when absent.
pub type Metadata = Map<String, Value>;

/// Parses an id from a path or an argument. Ids match case-insensitively; anything that is not
/// a hyphenated UUID names nothing, which callers report as `NOT_FOUND` (or `null`).
pub fn parse_id(raw: &str) -> Option<Uuid> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::parse_str(raw).ok()
}

impl Checker {
    /// Decodes optional metadata: absent or `null` is `{}`, an object is kept, anything else is
    /// an error on `name`.
    pub(crate) fn metadata(&mut self, name: &str, value: Field<Value>) -> Metadata {
        match self.value(name, value, |v| match v {
            Value::Object(map) => Ok(map),
            _ => Err("must be a JSON object".to_owned()),
        }) {
            Some(Some(map)) => map,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_id_accepts_uppercase_and_rejects_other_forms() {
        let id = Uuid::new_v4();
        let upper = id.to_string().to_uppercase();
        assert_eq!(parse_id(&upper), Some(id));
        assert_eq!(parse_id(&id.simple().to_string()), None);
        assert_eq!(parse_id("not-a-uuid"), None);
        assert_eq!(parse_id(""), None);
    }

    #[test]
    fn metadata_must_be_an_object() {
        let mut check = Checker::default();
        assert_eq!(check.metadata("metadata", Field::Absent), Map::new());
        assert_eq!(check.metadata("metadata", Field::Null), Map::new());
        let kept = check.metadata("metadata", Field::Value(json!({"a": 1})));
        assert_eq!(Value::Object(kept), json!({"a": 1}));
        assert!(check.0.is_empty());
        check.metadata("metadata", Field::Value(json!([1])));
        assert_eq!(
            check.0,
            vec![FieldError::new("metadata", "must be a JSON object")]
        );
    }
}
