//! API keys on sockets: a GraphQL socket presents its key in `connection_init`, a `/ws` socket
//! in its first `auth` frame, unless the upgrade request already carried a valid key.

use async_trait::async_trait;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::api_keys::{ApiKeys, Presented, bearer_token};
use crate::ws::{Admission, SocketAuth};

fn admit(accepted: bool) -> Admission {
    if accepted {
        Admission::Accept
    } else {
        Admission::Refuse
    }
}

/// The key a `connection_init` payload carries: `apiKey` as the contract names it, or the
/// HTTP header names, which GraphiQL's fetcher copies from its header editor.
fn payload_key(payload: &Map<String, Value>) -> Option<&str> {
    let field = |name: &str| {
        payload
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    };
    field("apiKey")
        .or_else(|| field("x-api-key"))
        .or_else(|| field("authorization").and_then(bearer_token))
}

#[async_trait]
impl SocketAuth for ApiKeys {
    async fn on_connection_init(
        &self,
        headers: &HeaderMap,
        payload: &Map<String, Value>,
    ) -> Admission {
        if !self.enabled() || self.check_headers(headers) == Presented::Valid {
            return Admission::Accept;
        }
        admit(payload_key(payload).is_some_and(|key| self.accepts(key)))
    }

    fn ws_needs_auth_frame(&self, headers: &HeaderMap) -> bool {
        self.enabled() && self.check_headers(headers) != Presented::Valid
    }

    async fn on_auth_frame(&self, headers: &HeaderMap, api_key: Option<&str>) -> Admission {
        if !self.ws_needs_auth_frame(headers) {
            return Admission::Accept;
        }
        admit(api_key.is_some_and(|key| self.accepts(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn keys() -> ApiKeys {
        ApiKeys::new(["k1".to_owned()])
    }

    fn payload(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[tokio::test]
    async fn connection_init_accepts_the_key_under_any_of_its_names() {
        let none = HeaderMap::new();
        for good in [
            json!({"apiKey": "k1"}),
            json!({"X-API-Key": "k1"}),
            json!({"Authorization": "Bearer k1"}),
        ] {
            let admitted = keys()
                .on_connection_init(&none, &payload(good.clone()))
                .await;
            assert_eq!(admitted, Admission::Accept, "{good}");
        }
        for bad in [json!({}), json!({"apiKey": "nope"}), json!({"apiKey": 1})] {
            let admitted = keys()
                .on_connection_init(&none, &payload(bad.clone()))
                .await;
            assert_eq!(admitted, Admission::Refuse, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_valid_key_on_the_upgrade_makes_the_socket_key_optional() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k1"));
        assert_eq!(
            keys().on_connection_init(&headers, &Map::new()).await,
            Admission::Accept
        );
        assert!(!keys().ws_needs_auth_frame(&headers));
        assert!(keys().ws_needs_auth_frame(&HeaderMap::new()));
        assert!(!ApiKeys::default().ws_needs_auth_frame(&HeaderMap::new()));
    }
}
