//! Helpers shared by the admin catalog resources (flavors, availability zones and their
//! profiles): list plumbing with a custom links key, `null`-is-invalid reads, and checking
//! profile data against a provider.

use axum::response::Response;
use serde_json::Value;

use super::{ListCall, json_response, list};
use crate::{
    AppState,
    config::Config,
    error::{ApiError, ApiResult},
    model::{
        capabilities,
        input::{Field, Input},
    },
};

/// Run the list engine and rename `<plural>_links` to `links_key` (Octavia's profile lists
/// use the singular).
pub fn list_response(
    st: &AppState,
    call: &ListCall,
    plural: &str,
    links_key: &str,
    filters: &[&str],
    items: Vec<Value>,
) -> ApiResult<Response> {
    let spec = list::ListSpec {
        plural,
        filters,
        path: &call.path,
        max_limit: st.config.pagination_max_limit,
        hidden: &[],
    };
    let mut body = list::respond(items, &call.params, &spec, &list::base_url(&call.headers))?;
    let default_links = format!("{plural}_links");
    if links_key != default_links
        && let Some(obj) = body.as_object_mut()
        && let Some(links) = obj.remove(&default_links)
    {
        obj.insert(links_key.to_owned(), links);
    }
    Ok(json_response(body))
}

/// A string field where `null` is refused as Octavia's `InvalidOption` (`None is not a valid
/// option for <key>`).
pub fn non_null(i: &mut Input, key: &str, max: usize) -> ApiResult<Option<String>> {
    match i.string(key, max)? {
        Field::Set(v) => Ok(Some(v)),
        Field::Absent => Ok(None),
        Field::Null => Err(ApiError::bad(format!(
            "None is not a valid option for {key}"
        ))),
    }
}

/// 400 unless `provider` is enabled.
pub fn provider_enabled(provider: &str) -> ApiResult<()> {
    if Config::provider_enabled(provider) {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "Provider '{provider}' is not enabled."
        )))
    }
}

/// Parse profile data text (400 `<text> is not a valid option for <key>` when not JSON).
pub fn parse_data(text: &str, key: &str) -> ApiResult<Value> {
    serde_json::from_str(text)
        .map_err(|_| ApiError::bad(format!("{text} is not a valid option for {key}")))
}

/// 501 unless `provider` accepts `data` for this profile kind.
pub fn check_data(provider: &str, kind: capabilities::Profile, data: &Value) -> ApiResult<()> {
    capabilities::validate(provider, kind, data).map_err(|msg| {
        ApiError::NotImplemented(format!(
            "Provider '{provider}' does not support a requested option: {msg}"
        ))
    })
}
