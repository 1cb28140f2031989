//! The web console, embedded from `web/dist` at build time. A plain `cargo build` without the UI
//! built still works and serves a page that says how to build it.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../web/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Tollgate</title>\
<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>Tollgate</h1>\
<p>The gateway is running, but this binary was built without the web console.</p>\
<p>Build it with <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>, then rebuild the binary.</p>";

/// Serves an embedded file, or `index.html` for client-side routes.
pub async fn serve_ui(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let mut resp = (StatusCode::OK, file.data.into_owned()).into_response();
        if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        // Vite fingerprints everything under assets/.
        if path.starts_with("assets/") {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
        }
        return resp;
    }
    match Assets::get("index.html") {
        Some(index) => {
            let mut resp = Html(index.data.into_owned()).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
        None => Html(NOT_BUILT).into_response(),
    }
}
