//! Flavors (`flavor` / `flavors`) and availability zones (`availability_zone` /
//! `availability_zones`, keyed by name): named, admin-managed choices a load balancer create
//! may name (`flavor_id`, `availability_zone`), each pointing at a profile. Not project-owned,
//! no provisioning status.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A stored flavor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub flavor_profile_id: String,
    pub created_at: String,
}

crate::store::row_object!(
    Flavor,
    "flavor",
    |s| id = &s.id,
    project = None,
    lb = None,
    parent = Some(&s.flavor_profile_id),
    created = &s.created_at
);

impl Flavor {
    /// Wire form (`description` `""` when unset).
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description.clone().unwrap_or_default(),
            "enabled": self.enabled,
            "flavor_profile_id": self.flavor_profile_id,
        })
    }
}

/// A stored availability zone; its name is its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AvailabilityZone {
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub availability_zone_profile_id: String,
    pub created_at: String,
}

crate::store::row_object!(
    AvailabilityZone,
    "availability_zone",
    |s| id = &s.name,
    project = None,
    lb = None,
    parent = Some(&s.availability_zone_profile_id),
    created = &s.created_at
);

impl AvailabilityZone {
    /// Wire form (`description` `""` when unset).
    pub fn wire(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description.clone().unwrap_or_default(),
            "enabled": self.enabled,
            "availability_zone_profile_id": self.availability_zone_profile_id,
        })
    }
}
