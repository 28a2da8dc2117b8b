//! `GET /openapi.json`: the OpenAPI 3.0 description of every route, kept by hand in
//! `lb-api/openapi.json` and embedded at build time. A handler test checks that every path
//! routed anywhere in `src/` is documented and that every documented path is served.

use axum::{Router, http::header, response::IntoResponse, routing::get};

/// The document, as shipped.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn router() -> Router {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
