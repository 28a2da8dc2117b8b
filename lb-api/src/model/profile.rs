//! Flavor profiles and availability-zone profiles: admin-only, provider-specific JSON data
//! (`flavor_data` / `availability_zone_data`, a JSON *string* of at most 4096 characters) that
//! flavors and availability zones point at. One generic [`Profile`] serves both kinds.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::capabilities;

/// What differs between the two profile kinds.
pub trait ProfileKind: Send + Sync + 'static {
    /// Store row kind.
    const KIND: &'static str;
    /// Envelope of one object (`flavorprofile`).
    const SINGULAR: &'static str;
    /// Envelope of a list (`flavorprofiles`).
    const PLURAL: &'static str;
    /// The list's links key (Octavia spells both without the plural `s`).
    const LINKS: &'static str;
    /// WSME argument name in error messages (`flavor_profile_`).
    const ARG: &'static str;
    /// The data attribute (`flavor_data`).
    const DATA: &'static str;
    /// Name in 404/409 messages (`Flavor profile`).
    const NAME: &'static str;
    /// Which capability table validates the data.
    const CAPS: capabilities::Profile;
    /// Row kind of the objects that point at a profile (their `parent_id`).
    const USERS: &'static str;
}

/// Flavor profiles (`/flavorprofiles`).
pub struct FlavorProfileKind;
impl ProfileKind for FlavorProfileKind {
    const KIND: &'static str = "flavorprofile";
    const SINGULAR: &'static str = "flavorprofile";
    const PLURAL: &'static str = "flavorprofiles";
    const LINKS: &'static str = "flavorprofile_links";
    const ARG: &'static str = "flavor_profile_";
    const DATA: &'static str = "flavor_data";
    const NAME: &'static str = "Flavor profile";
    const CAPS: capabilities::Profile = capabilities::Profile::Flavor;
    const USERS: &'static str = "flavor";
}

/// Availability-zone profiles (`/availabilityzoneprofiles`).
pub struct AzProfileKind;
impl ProfileKind for AzProfileKind {
    const KIND: &'static str = "availability_zone_profile";
    const SINGULAR: &'static str = "availability_zone_profile";
    const PLURAL: &'static str = "availability_zone_profiles";
    const LINKS: &'static str = "availability_zone_profile_links";
    const ARG: &'static str = "availability_zone_profile_";
    const DATA: &'static str = "availability_zone_data";
    const NAME: &'static str = "Availability Zone Profile";
    const CAPS: capabilities::Profile = capabilities::Profile::AvailabilityZone;
    const USERS: &'static str = "availability_zone";
}

/// A stored profile.
#[derive(Debug, Serialize, Deserialize)]
pub struct Profile<K> {
    pub id: String,
    pub name: String,
    pub provider_name: String,
    /// The JSON text exactly as sent.
    pub data: String,
    pub created_at: String,
    #[serde(skip)]
    pub kind: PhantomData<K>,
}

impl<K> Clone for Profile<K> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            name: self.name.clone(),
            provider_name: self.provider_name.clone(),
            data: self.data.clone(),
            created_at: self.created_at.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: ProfileKind> crate::store::Object for Profile<K> {
    const KIND: &'static str = K::KIND;
    fn id(&self) -> &str {
        &self.id
    }
    fn project_id(&self) -> Option<&str> {
        None
    }
    fn lb_id(&self) -> Option<&str> {
        None
    }
    fn parent_id(&self) -> Option<&str> {
        None
    }
    fn created_at(&self) -> &str {
        &self.created_at
    }
}

impl<K: ProfileKind> Profile<K> {
    /// Wire form.
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "provider_name": self.provider_name,
            K::DATA: self.data,
        })
    }

    /// Attributes accepted on POST and PUT.
    pub fn attributes() -> [&'static str; 3] {
        ["name", "provider_name", K::DATA]
    }
}
