//! The agent API behind mutual TLS (see `lb_proto::STATE_PATH`): the controller pushes whole
//! desired states and reads what runs and the counters.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::sync::Mutex;

use super::{
    report,
    runtime::{ApplyError, Runtime},
};

/// Largest desired state accepted (bytes).
pub const MAX_STATE_BYTES: usize = 32 << 20;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub runtime: Arc<Mutex<Runtime>>,
    pub host_id: Arc<str>,
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(lb_proto::STATE_PATH, get(get_state).put(put_state))
        .route(lb_proto::STATS_PATH, get(get_stats))
        .layer(DefaultBodyLimit::max(MAX_STATE_BYTES))
        .with_state(state)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn put_state(State(st): State<ApiState>, body: Bytes) -> Response {
    let mut runtime = st.runtime.lock().await;
    match runtime.push(&body) {
        Ok(applied) => {
            tracing::info!(
                generation = applied.generation,
                hash = %applied.content_hash,
                "desired state applied"
            );
            Json(applied).into_response()
        }
        Err(ApplyError::Refused(e)) => {
            tracing::warn!(error = %e, "pushed state refused");
            error(StatusCode::BAD_REQUEST, e)
        }
        Err(e @ ApplyError::Stale { .. }) => {
            tracing::warn!(error = %e, "stale push refused");
            (StatusCode::CONFLICT, Json(runtime.applied())).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "applying a pushed state failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, e)
        }
    }
}

async fn get_state(State(st): State<ApiState>) -> Response {
    match st.runtime.lock().await.applied() {
        Some(applied) => Json(applied).into_response(),
        None => error(StatusCode::NOT_FOUND, "no desired state applied yet"),
    }
}

async fn get_stats(State(st): State<ApiState>) -> Response {
    let runtime = st.runtime.lock().await;
    match runtime.report(&st.host_id, report::unix_ms()) {
        Ok(r) => Json(r).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
