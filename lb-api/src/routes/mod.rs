//! Routing: merges the per-resource routers.

pub mod versions;

use axum::Router;

/// Every route the API serves.
pub fn router() -> Router {
    Router::new().merge(versions::router())
}
