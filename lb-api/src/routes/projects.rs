//! The Keystone project lookup the `openstack` CLI makes in noauth mode before any
//! `--project`/quota command (`GET /projects/{name-or-id}`, then `GET /projects?name=`, on the
//! shared endpoint root; `/v3/...` for a catalog URL). Without Keystone a project is just an
//! id, as in Octavia's noauth mode, so every name resolves to the project of that id.

use axum::{
    Router,
    extract::{Path, Query},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};

use super::{json_response, list::Params, ok};

pub fn router() -> Router {
    Router::new()
        .route("/projects", get(list))
        .route("/projects/{id}", get(show))
        .route("/v3/projects", get(list))
        .route("/v3/projects/{id}", get(show))
}

fn project(id: &str) -> Value {
    json!({"id": id, "name": id, "domain_id": "default", "enabled": true,
           "description": "", "is_domain": false, "parent_id": "default"})
}

async fn show(Path(id): Path<String>) -> Response {
    ok("project", project(&id))
}

async fn list(Query(params): Query<Params>) -> Response {
    let projects: Vec<Value> = params
        .iter()
        .filter(|(k, _)| k == "name" || k == "id")
        .map(|(_, v)| project(v))
        .take(1)
        .collect();
    json_response(
        json!({"projects": projects, "links": {"self": null, "next": null, "previous": null}}),
    )
}
