//! Every answer quotes its request id (`X-Request-Id`) in GraphQL errors' `extensions.requestId`
//! and in the REST envelope's `details.requestId` of a 5xx. The helpers check that quote against
//! the header and then set it aside, so shape assertions compare everything else exactly.

use serde_json::Value;

/// Asserts the quotes `body` must carry for an answer with `status` and `request_id`, and
/// removes them.
pub fn set_aside_request_id(status: u16, request_id: Option<&str>, body: &mut Value) {
    let quoted = |found: Option<Value>| {
        let id = request_id.expect("an answer quoting a request id carries X-Request-Id");
        assert_eq!(
            found,
            Some(Value::String(id.to_owned())),
            "the error quotes the answer's request id"
        );
    };
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            let extensions = error
                .get_mut("extensions")
                .and_then(Value::as_object_mut)
                .expect("every GraphQL error has extensions");
            quoted(extensions.remove("requestId"));
        }
    } else if status >= 500
        && let Some(details) = body
            .pointer_mut("/error/details")
            .and_then(Value::as_object_mut)
    {
        quoted(details.remove("requestId"));
    }
}

/// The JSON body of `response`, its request-id quotes checked and set aside.
pub async fn quoted_json(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().expect("ASCII request id").to_owned());
    let mut body = response.json().await.expect("a JSON body");
    set_aside_request_id(status, request_id.as_deref(), &mut body);
    body
}
