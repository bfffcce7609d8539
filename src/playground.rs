//! The browser pages: GraphiQL at `/playground`, the live chat page at `/playground/chat`, their
//! static files, the favicon and the `/` redirect. Every file comes from `playground/`, compiled
//! into the binary, so the pages work from any working directory and without the internet.
//! This module only serves bytes; the pages talk to the server through `/graphql` like any client.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::error::{AppError, ErrorCode};

/// The files under `playground/`, embedded at compile time (also in debug builds).
#[derive(RustEmbed)]
#[folder = "playground/"]
struct Assets;

/// What the pages may load: only this server. Styles may be inline because GraphiQL sets them
/// from script; fonts and icons come as `data:` URLs inside the vendored stylesheet.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'none'";

/// The playground's routes; merged into the application router. `key_required` tells the pages
/// (through `/playground/config.json`) to ask for an API key before their first request.
pub fn router<S>(key_required: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let config = serde_json::json!({ "apiKeyRequired": key_required });
    Router::new()
        .route("/", get(|| async { Redirect::permanent("/playground") }))
        .route(
            "/playground/",
            get(|| async { Redirect::permanent("/playground") }),
        )
        .route("/playground", get(graphiql))
        .route("/playground/chat", get(chat))
        .route(
            "/playground/config.json",
            get(|| async move { ([(header::CACHE_CONTROL, "no-store")], axum::Json(config)) }),
        )
        .route("/playground/{*path}", get(asset))
        .route("/favicon.ico", get(favicon))
}

async fn graphiql(request: HeaderMap) -> Response {
    serve("index.html", &request)
}

async fn chat(request: HeaderMap) -> Response {
    serve("chat.html", &request)
}

async fn favicon(request: HeaderMap) -> Response {
    serve("favicon.ico", &request)
}

async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
    serve(&path, &request)
}

/// Answers one embedded file, or 404 in the REST error envelope. Files carry an `ETag` and are
/// revalidated on every use (`no-cache`), so a new binary never leaves a stale page behind.
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return AppError::new(ErrorCode::NotFound, "no such playground file").into_response();
    };
    let etag = etag(&file);
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.ends_with(".html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if matches_etag(request, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, content_type(path));
    (headers, file.data.into_owned()).into_response()
}

/// A strong validator from the file's SHA-256 (computed at compile time).
fn etag(file: &EmbeddedFile) -> HeaderValue {
    let hash = file.metadata.sha256_hash();
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("a quoted hex string is a valid header")
}

fn matches_etag(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(tags) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ours = etag.to_str().expect("our ETag is ASCII");
    tags.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == ours)
}

/// The media type from the extension; text types say they are UTF-8.
fn content_type(path: &str) -> HeaderValue {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    let value = match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    };
    HeaderValue::from_static(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_pages_and_the_favicon_are_embedded() {
        for path in ["index.html", "chat.html", "favicon.ico"] {
            assert!(Assets::get(path).is_some(), "{path} is embedded");
        }
    }

    #[test]
    fn no_embedded_page_or_script_loads_anything_from_another_host() {
        for path in Assets::iter().filter(|p| !p.starts_with("vendor/")) {
            let file = Assets::get(&path).expect("listed files exist");
            let Ok(text) = std::str::from_utf8(&file.data) else {
                continue;
            };
            for needle in ["http://", "https://", "//cdn", "unpkg", "jsdelivr"] {
                assert!(!text.contains(needle), "{path} mentions {needle}");
            }
        }
    }

    #[test]
    fn an_if_none_match_with_our_tag_or_a_star_matches() {
        let tag = HeaderValue::from_static("\"abc\"");
        let mut request = HeaderMap::new();
        assert!(!matches_etag(&request, &tag));
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(matches_etag(&request, &tag));
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&request, &tag));
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abd\""));
        assert!(!matches_etag(&request, &tag));
    }
}
