//! CORS, answered from header values built once at start-up: every `OPTIONS` request is a
//! preflight answered 200 at once with the methods and headers allowed; every other answer gets
//! the allowed origin, the headers a page may read and `Vary`. The same rules as tower-http's
//! `CorsLayer` configured with the origin list, without copying that configuration for every
//! request.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// Header names a preflight's answer depends on; every answer names them in `Vary`.
const VARY: &str = "origin, access-control-request-method, access-control-request-headers";
/// The methods a cross-origin page may use.
const METHODS: &str = "GET,POST,PUT,DELETE,OPTIONS";
/// The request headers a cross-origin page may send (`X-API-Key` and bearer keys included).
const ALLOWED_HEADERS: &str = "content-type,authorization,x-api-key";
/// The answer headers a cross-origin page may read: the rate limit's and the request id.
const EXPOSED_HEADERS: &str =
    "x-ratelimit-limit,x-ratelimit-remaining,x-ratelimit-reset,retry-after,x-request-id";

/// Which origins may read answers.
#[derive(Debug, Clone)]
pub enum Origins {
    /// Any origin (`*` in the configured list).
    Any,
    /// Only these, echoed back when a request's `Origin` is one of them.
    List(Vec<HeaderValue>),
}

impl Origins {
    /// The configured origins: any when the list holds `*`, else each entry that is a valid
    /// header value (surrounding spaces trimmed).
    pub fn from_config(origins: &[String]) -> Self {
        if origins.iter().any(|o| o.trim() == "*") {
            Self::Any
        } else {
            Self::List(
                origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
                    .collect(),
            )
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if any.
    pub fn allowed(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Self::Any => Some(HeaderValue::from_static("*")),
            Self::List(list) => origin.filter(|o| list.contains(o)).cloned(),
        }
    }

    /// The answer to a preflight (any `OPTIONS` request), given the request's headers.
    pub fn preflight(&self, request_headers: &HeaderMap) -> Response {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static(VARY));
        if let Some(origin) = self.allowed(request_headers.get(header::ORIGIN)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        response
    }

    /// Adds to an answer what every non-preflight answer carries; `allowed` is
    /// [`Origins::allowed`] for the request's `Origin`.
    pub fn decorate(allowed: Option<HeaderValue>, response: &mut Response) {
        let headers = response.headers_mut();
        // `Vary` may already list other headers: add to it, never replace it.
        headers.append(header::VARY, HeaderValue::from_static(VARY));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        if let Some(origin) = allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Request, StatusCode};
    use tower::{ServiceBuilder, ServiceExt};
    use tower_http::cors::{AllowOrigin, CorsLayer};

    /// The layer these rules replace, configured as the edge used to configure it.
    fn tower_http_cors(origins: &[String]) -> CorsLayer {
        let allow = if origins.iter().any(|o| o.trim() == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o.trim()).ok()),
            )
        };
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([
                header::HeaderName::from_static("x-ratelimit-limit"),
                header::HeaderName::from_static("x-ratelimit-remaining"),
                header::HeaderName::from_static("x-ratelimit-reset"),
                header::RETRY_AFTER,
                header::HeaderName::from_static("x-request-id"),
            ])
    }

    /// A handler's answer that already varies on something and names an origin of its own.
    fn handled() -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::CREATED;
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("https://handler.example"),
        );
        response
    }

    fn request(method: Method, headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri("/chats");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("a valid request")
    }

    async fn ours(origins: &Origins, request: Request<Body>) -> Response {
        if request.method() == Method::OPTIONS {
            return origins.preflight(request.headers());
        }
        let allowed = origins.allowed(request.headers().get(header::ORIGIN));
        let mut response = handled();
        Origins::decorate(allowed, &mut response);
        response
    }

    #[tokio::test]
    async fn answers_carry_the_same_headers_as_tower_https_cors_layer() {
        let configs: [&[&str]; 3] = [
            &["*"],
            &["https://a.example", " https://b.example "],
            &["https://a.example", "*"],
        ];
        let requests: [(Method, &[(&str, &str)]); 7] = [
            (Method::GET, &[]),
            (Method::GET, &[("origin", "https://a.example")]),
            (Method::POST, &[("origin", "https://b.example")]),
            (Method::DELETE, &[("origin", "https://c.example")]),
            (
                Method::OPTIONS,
                &[
                    ("origin", "https://a.example"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "x-api-key"),
                ],
            ),
            (Method::OPTIONS, &[("origin", "https://c.example")]),
            (Method::OPTIONS, &[]),
        ];
        for config in configs {
            let config: Vec<String> = config.iter().map(|o| (*o).to_owned()).collect();
            let origins = Origins::from_config(&config);
            let theirs = ServiceBuilder::new()
                .layer(tower_http_cors(&config))
                .service_fn(|_: Request<Body>| async {
                    Ok::<_, std::convert::Infallible>(handled())
                });
            for (method, headers) in &requests {
                let expected = theirs
                    .clone()
                    .oneshot(request(method.clone(), headers))
                    .await
                    .expect("answered");
                let got = ours(&origins, request(method.clone(), headers)).await;
                let case = format!("{config:?} {method} {headers:?}");
                assert_eq!(got.status(), expected.status(), "{case}");
                assert_eq!(got.headers(), expected.headers(), "{case}");
            }
        }
    }
}
