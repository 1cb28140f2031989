//! `GET /api/v1/openapi.json`: the hand-written OpenAPI 3.0 document of the console API, kept in
//! `openapi.json` next to this file. A test checks that every console route is in it.

use axum::http::header;
use axum::response::IntoResponse;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Serves the OpenAPI document.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
