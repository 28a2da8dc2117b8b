//! lb-api: the Octavia v2 compatible REST API. [`app`] builds the router so tests can drive it
//! with `oneshot` without a server.

pub mod routes;

use axum::Router;

/// The whole HTTP application.
pub fn app() -> Router {
    routes::router()
}
