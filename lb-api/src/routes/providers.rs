//! `/providers`: the enabled provider drivers, and their (empty) capability lists.

use axum::{Router, extract::Path, response::Response, routing::get};
use serde_json::{Value, json};

use super::{json_response, ok};
use crate::{
    AppState,
    auth::Ctx,
    config::PROVIDERS,
    error::{ApiError, ApiResult},
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

async fn flavor_caps(ctx: Ctx, Path(name): Path<String>) -> ApiResult<Response> {
    ctx.require_admin()?;
    known(&name)?;
    Ok(ok("flavor_capabilities", json!([])))
}

async fn az_caps(ctx: Ctx, Path(name): Path<String>) -> ApiResult<Response> {
    ctx.require_admin()?;
    known(&name)?;
    Ok(ok("availability_zone_capabilities", json!([])))
}
