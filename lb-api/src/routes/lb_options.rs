//! Load balancer create: resolve `provider`, `flavor_id` and `availability_zone` as Octavia
//! does. The flavor must exist and be enabled, and decides the provider when none is named
//! (a named one must match the flavor profile's); the availability zone must exist, be
//! enabled, and its profile data must be acceptable to the load balancer's provider.

use serde_json::Value;

use super::catalog::{check_data, parse_data, provider_enabled};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
    model::{
        capabilities,
        flavor::{AvailabilityZone, Flavor},
        profile::{AzProfileKind, FlavorProfileKind, Profile},
    },
    store,
};

/// What a new load balancer records.
#[derive(Debug)]
pub struct Resolved {
    pub provider: String,
    pub flavor_id: Option<String>,
    pub availability_zone: Option<String>,
}

/// Validate the request's choices; `default_provider` applies when neither a provider nor a
/// flavor names one.
pub async fn resolve(
    st: &AppState,
    provider: Option<String>,
    flavor_id: Option<String>,
    az: Option<String>,
) -> ApiResult<Resolved> {
    let mut flavor_provider = None;
    if let Some(id) = &flavor_id {
        let flavor = store::get::<Flavor>(&*st.store, id)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid flavor_id."))?;
        if !flavor.enabled {
            return Err(ApiError::bad(format!(
                "The selected flavor is not allowed in this deployment: {id}"
            )));
        }
        let profile =
            store::get::<Profile<FlavorProfileKind>>(&*st.store, &flavor.flavor_profile_id)
                .await?
                .ok_or_else(|| ApiError::validation("Invalid flavor_id."))?;
        flavor_provider = Some(profile.provider_name);
    }
    let mut az_data: Option<Value> = None;
    if let Some(name) = &az {
        let zone = store::get::<AvailabilityZone>(&*st.store, name)
            .await?
            .ok_or_else(|| ApiError::validation("Invalid availability zone."))?;
        if !zone.enabled {
            return Err(ApiError::bad(format!(
                "The selected availability_zone is not allowed in this deployment: {name}"
            )));
        }
        let profile =
            store::get::<Profile<AzProfileKind>>(&*st.store, &zone.availability_zone_profile_id)
                .await?
                .ok_or_else(|| ApiError::validation("Invalid availability_zone."))?;
        az_data = Some(parse_data(&profile.data, "availability_zone_data")?);
    }
    let provider = match (provider, flavor_provider) {
        (Some(asked), Some(from_flavor)) if asked != from_flavor => {
            return Err(ApiError::bad(format!(
                "Flavor '{}' is not compatible with provider '{asked}'",
                flavor_id.unwrap_or_default()
            )));
        }
        (Some(asked), _) => asked,
        (None, Some(from_flavor)) => from_flavor,
        (None, None) => st.config.default_provider.clone(),
    };
    provider_enabled(&provider)?;
    if let Some(data) = &az_data {
        check_data(&provider, capabilities::Profile::AvailabilityZone, data)?;
    }
    Ok(Resolved {
        provider,
        flavor_id,
        availability_zone: az,
    })
}
