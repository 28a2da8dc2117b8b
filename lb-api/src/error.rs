//! [`ApiError`]: every failure a handler can return, rendered as Octavia's WSME fault body
//! `{"faultcode","faultstring","debuginfo"}` (or pecan's `{"code","title","description"}` where
//! Octavia answers that way). Internal errors are logged and never leaked to the client.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::store::StoreError;

/// Result alias for handlers and helpers.
pub type ApiResult<T> = Result<T, ApiError>;

/// One error type for the whole API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a WSME fault body.
    #[error("{0}")]
    BadRequest(String),
    /// 400 in pecan's shape (raised by Octavia's pagination hook, e.g. a bad `limit`).
    #[error("{0}")]
    PecanBadRequest(String),
    /// 401: no or invalid credentials.
    #[error("Authentication required")]
    Unauthorized,
    /// 403: the policy or a quota forbids the request.
    #[error("{0}")]
    Forbidden(String),
    /// 404 for a named object: `"<kind> <id> not found."`.
    #[error("{kind} {id} not found.")]
    NotFound { kind: &'static str, id: String },
    /// 404 in pecan's shape for a URL no controller serves.
    #[error("Not Found")]
    NoRoute,
    /// 409: immutable object, duplicate, or object in use.
    #[error("{0}")]
    Conflict(String),
    /// 413: body over the size limit.
    #[error("Request is too large.")]
    PayloadTooLarge,
    /// 501: the provider does not support an action or option.
    #[error("{0}")]
    NotImplemented(String),
    /// 500 from the store; logged, not shown.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500 for a broken invariant; logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for `BadRequest`.
    pub fn bad(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    /// `Validation failure: <detail>` (Octavia's `ValidationException`).
    pub fn validation(detail: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!("Validation failure: {detail}"))
    }

    /// `<Kind> <id> is immutable and cannot be updated.`
    pub fn immutable(kind: &str, id: &str) -> Self {
        Self::Conflict(format!("{kind} {id} is immutable and cannot be updated."))
    }

    /// `403 Policy does not allow this request to be performed.`
    pub fn policy() -> Self {
        Self::Forbidden("Policy does not allow this request to be performed.".into())
    }

    /// 404 for an object kind and id.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::PecanBadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::PecanBadRequest(description) => {
                json!({"code": 400, "title": "Bad Request", "description": description})
            }
            Self::NoRoute => json!({"code": 404, "title": "Not Found", "description": ""}),
            Self::Store(_) | Self::Internal(_) => {
                tracing::error!(error = %self, "internal error");
                json!({
                    "faultcode": "Server",
                    "faultstring": "An internal error occurred. Please try again later.",
                    "debuginfo": null,
                })
            }
            other => json!({
                "faultcode": if status.is_server_error() { "Server" } else { "Client" },
                "faultstring": other.to_string(),
                "debuginfo": null,
            }),
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    async fn render(e: ApiError) -> (u16, serde_json::Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn fault_bodies_have_octavia_shape_and_codes() {
        let (s, b) = render(ApiError::not_found("Load Balancer", "x")).await;
        assert_eq!(s, 404);
        assert_eq!(
            b,
            json!({"faultcode":"Client","faultstring":"Load Balancer x not found.","debuginfo":null})
        );
        assert_eq!(render(ApiError::bad("b")).await.0, 400);
        assert_eq!(render(ApiError::Unauthorized).await.0, 401);
        assert_eq!(render(ApiError::policy()).await.0, 403);
        assert_eq!(render(ApiError::immutable("Pool", "p")).await.0, 409);
        let (s, b) = render(ApiError::NotImplemented("n".into())).await;
        assert_eq!((s, b["faultcode"].clone()), (501, json!("Server")));
    }

    #[tokio::test]
    async fn internal_errors_are_not_leaked() {
        let (s, b) = render(ApiError::Internal("secret path /etc/x".into())).await;
        assert_eq!(s, 500);
        assert_eq!(b["faultcode"], "Server");
        assert!(!b["faultstring"].as_str().unwrap().contains("secret"));
    }
}
