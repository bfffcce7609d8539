//! The GraphQL request object of GraphQL over HTTP and of WebSocket `subscribe` payloads
//! (https://graphql.github.io/graphql-over-http/draft/#sec-Request-Parameters): the one strict
//! reading of `query`, `operationName`, `variables` and `extensions` that both transports share.

use async_graphql::{Request, Variables};
use serde_json::{Map, Value};

use crate::error::FieldError;

/// Reads a request object: `query` must be a string; `operationName` a string, `variables` and
/// `extensions` objects, each optional or `null`. Every member of the wrong type is listed (in
/// that order); members the protocol does not define are ignored, and so is the content of
/// `extensions`, which no feature of this server reads.
pub fn from_object(mut object: Map<String, Value>) -> Result<Request, Vec<FieldError>> {
    let mut wrong = Vec::new();
    let query = match object.remove("query") {
        Some(Value::String(query)) => Some(query),
        None | Some(Value::Null) => {
            wrong.push(FieldError::new("query", "is required"));
            None
        }
        Some(_) => {
            wrong.push(FieldError::new("query", "must be a string"));
            None
        }
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => {
            wrong.push(FieldError::new("operationName", "must be a string"));
            None
        }
    };
    let variables = optional_object(&mut object, "variables", &mut wrong);
    optional_object(&mut object, "extensions", &mut wrong);
    match query {
        Some(query) if wrong.is_empty() => {
            let mut request = Request::new(query);
            request.operation_name = operation_name;
            if let Some(variables) = variables {
                request.variables = Variables::from_json(Value::Object(variables));
            }
            Ok(request)
        }
        _ => Err(wrong),
    }
}

/// Member `name` as an object, `None` when absent or `null`; anything else is listed in `wrong`.
fn optional_object(
    object: &mut Map<String, Value>,
    name: &str,
    wrong: &mut Vec<FieldError>,
) -> Option<Map<String, Value>> {
    match object.remove(name) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            wrong.push(FieldError::new(name, "must be an object"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<Request, Vec<FieldError>> {
        from_object(value.as_object().cloned().expect("an object"))
    }

    fn wrong(value: Value) -> Vec<(String, String)> {
        read(value)
            .expect_err("refused")
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn a_full_request_and_one_with_nulls_are_read() {
        let request = read(json!({
            "query": "query Q($x: Int) { a }",
            "operationName": "Q",
            "variables": {"x": 1},
            "extensions": {"persistedQuery": {}},
            "unknown": true,
        }))
        .expect("read");
        assert_eq!(request.query, "query Q($x: Int) { a }");
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request.variables.into_value().into_json().expect("JSON"),
            json!({"x": 1})
        );
        let request = read(json!({
            "query": "{ a }", "operationName": null, "variables": null, "extensions": null,
        }))
        .expect("read");
        assert_eq!(request.operation_name, None);
    }

    #[test]
    fn every_member_of_the_wrong_type_is_listed() {
        let pair = |field: &str, message: &str| (field.to_owned(), message.to_owned());
        assert_eq!(wrong(json!({})), [pair("query", "is required")]);
        assert_eq!(
            wrong(json!({"query": null})),
            [pair("query", "is required")]
        );
        assert_eq!(
            wrong(
                json!({"query": ["{ a }"], "operationName": 1, "variables": "{}", "extensions": []})
            ),
            [
                pair("query", "must be a string"),
                pair("operationName", "must be a string"),
                pair("variables", "must be an object"),
                pair("extensions", "must be an object"),
            ]
        );
        assert_eq!(
            wrong(json!({"query": "{ a }", "variables": [1]})),
            [pair("variables", "must be an object")]
        );
    }
}
