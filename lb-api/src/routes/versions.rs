//! Version discovery: `GET /` (no auth, as Octavia) lists the API versions; `GET /v2` and
//! `GET /v2.0` answer the JSON string `"v2"`.

use axum::{Json, Router, http::HeaderMap, routing::get};
use serde_json::{Value, json};

/// Newest API minor version this server implements.
pub const CURRENT_VERSION: &str = "v2.30";

/// Minor versions listed in the version document, oldest first (as Octavia lists them).
const VERSIONS: [(&str, &str); 31] = [
    ("v2.0", "2016-12-11T00:00:00Z"),
    ("v2.1", "2018-04-20T00:00:00Z"),
    ("v2.2", "2018-07-31T00:00:00Z"),
    ("v2.3", "2018-12-18T00:00:00Z"),
    ("v2.4", "2018-12-19T00:00:00Z"),
    ("v2.5", "2019-01-21T00:00:00Z"),
    ("v2.6", "2019-01-25T00:00:00Z"),
    ("v2.7", "2018-01-25T12:00:00Z"),
    ("v2.8", "2019-02-12T00:00:00Z"),
    ("v2.9", "2019-03-04T00:00:00Z"),
    ("v2.10", "2019-03-05T00:00:00Z"),
    ("v2.11", "2019-06-24T00:00:00Z"),
    ("v2.12", "2019-09-11T00:00:00Z"),
    ("v2.13", "2019-09-13T00:00:00Z"),
    ("v2.14", "2019-11-10T00:00:00Z"),
    ("v2.15", "2020-03-10T00:00:00Z"),
    ("v2.16", "2020-03-15T00:00:00Z"),
    ("v2.17", "2020-04-29T00:00:00Z"),
    ("v2.18", "2020-04-29T01:00:00Z"),
    ("v2.19", "2020-05-12T00:00:00Z"),
    ("v2.20", "2020-08-02T00:00:00Z"),
    ("v2.21", "2020-09-03T00:00:00Z"),
    ("v2.22", "2020-09-04T00:00:00Z"),
    ("v2.23", "2020-09-07T00:00:00Z"),
    ("v2.24", "2020-10-15T00:00:00Z"),
    ("v2.25", "2021-10-02T00:00:00Z"),
    ("v2.26", "2022-08-29T00:00:00Z"),
    ("v2.27", "2023-05-05T00:00:00Z"),
    ("v2.28", "2023-11-08T00:00:00Z"),
    ("v2.29", "2024-10-15T00:00:00Z"),
    ("v2.30", "2025-02-26T00:00:00Z"),
];

pub fn router() -> Router {
    Router::new()
        .route("/", get(version_document))
        .route("/v2", get(v2))
        .route("/v2.0", get(v2))
}

async fn version_document(headers: HeaderMap) -> Json<Value> {
    let base = request_base(&headers);
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, updated)| {
            json!({
                "id": id,
                "status": if *id == CURRENT_VERSION { "CURRENT" } else { "SUPPORTED" },
                "updated": updated,
                "links": [{"href": format!("{base}/v2"), "rel": "self"}],
            })
        })
        .collect();
    Json(json!({ "versions": versions }))
}

async fn v2() -> Json<&'static str> {
    Json("v2")
}

/// `scheme://host` the client used, for the self links.
fn request_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:9876");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn get_json(uri: &str) -> (u16, Value) {
        let app = crate::testutil::TestApp::new().await;
        let response = app
            .router()
            .oneshot(
                Request::get(uri)
                    .header("host", "lb.example:9876")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn version_document_lists_one_current_version_with_self_links() {
        let (status, body) = get_json("/").await;
        assert_eq!(status, 200);
        let versions = body["versions"].as_array().unwrap();
        assert_eq!(versions.len(), VERSIONS.len());
        let current: Vec<_> = versions
            .iter()
            .filter(|v| v["status"] == "CURRENT")
            .collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], CURRENT_VERSION);
        assert_eq!(versions[0]["id"], "v2.0");
        assert_eq!(versions[0]["links"][0]["href"], "http://lb.example:9876/v2");
        for v in versions {
            let id = v["id"].as_str().unwrap();
            assert_eq!(id.split('.').count(), 2, "{id} must be vMAJOR.MINOR");
        }
    }

    #[tokio::test]
    async fn v2_roots_answer_the_string_v2() {
        for uri in ["/v2", "/v2.0"] {
            assert_eq!(get_json(uri).await, (200, json!("v2")), "{uri}");
        }
    }
}
