//! `/providers`: the enabled provider drivers, and the flavor and availability-zone metadata
//! keys each accepts (`model::capabilities`), filterable by `name`/`description`.

use axum::{
    Router,
    extract::{Path, Query},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};

use super::{json_response, list::Params, ok};
use crate::{
    AppState,
    auth::Ctx,
    config::PROVIDERS,
    error::{ApiError, ApiResult},
    model::capabilities,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/providers", get(list))
        .route("/providers/{name}/flavor_capabilities", get(flavor_caps))
        .route(
            "/providers/{name}/availability_zone_capabilities",
            get(az_caps),
        )
}

async fn list(_ctx: Ctx) -> Response {
    let providers: Vec<Value> = PROVIDERS
        .iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    json_response(json!({ "providers": providers }))
}

fn known(name: &str) -> ApiResult<()> {
    if PROVIDERS.iter().any(|(n, _)| *n == name) {
        Ok(())
    } else {
        Err(ApiError::bad(format!("Provider '{name}' is not enabled.")))
    }
}

/// `[{name, description}]` of `provider`'s keys, filtered as Octavia does by exact `name` and
/// `description` query parameters.
fn caps(provider: &str, kind: capabilities::Profile, params: &Params) -> Value {
    let wanted = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let (name, description) = (wanted("name"), wanted("description"));
    let keys = capabilities::keys(provider, kind).unwrap_or(&[]);
    Value::Array(
        keys.iter()
            .filter(|k| name.is_none_or(|n| n == k.name))
            .filter(|k| description.is_none_or(|d| d == k.description))
            .map(|k| json!({"name": k.name, "description": k.description}))
            .collect(),
    )
}

async fn flavor_caps(
    ctx: Ctx,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    known(&name)?;
    Ok(ok(
        "flavor_capabilities",
        caps(&name, capabilities::Profile::Flavor, &params),
    ))
}

async fn az_caps(
    ctx: Ctx,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    known(&name)?;
    Ok(ok(
        "availability_zone_capabilities",
        caps(&name, capabilities::Profile::AvailabilityZone, &params),
    ))
}
