//! What each provider accepts in flavor and availability-zone profiles: the metadata keys
//! (served by `/providers/{p}/flavor_capabilities` and `/availability_zone_capabilities`) and
//! the validation of a profile's JSON data against them, with the messages Octavia's drivers
//! give (JSON-schema style, reported as 501 "does not support a requested option").
//!
//! `amphora` (and its alias `octavia`) is this project's agent-based provider; `noop` mirrors
//! Octavia's noop driver, which advertises a few keys and accepts any object.

use serde_json::Value;

/// The JSON type of a metadata value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Bool,
    Array,
    OneOf(&'static [&'static str]),
}

/// One supported metadata key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub description: &'static str,
    pub ty: Ty,
}

/// Which profile kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Flavor,
    AvailabilityZone,
}

const AMPHORA_FLAVOR: &[Key] = &[Key {
    name: "loadbalancer_topology",
    description: "The load balancer topology. One of: SINGLE - One amphora host per load \
                  balancer. ACTIVE_STANDBY - Two amphora hosts per load balancer (VRRP).",
    ty: Ty::OneOf(&["SINGLE", "ACTIVE_STANDBY"]),
}];

const AMPHORA_AZ: &[Key] = &[
    Key {
        name: "compute_zone",
        description: "The group of amphora hosts load balancers in this zone are placed on.",
        ty: Ty::Str,
    },
    Key {
        name: "valid_vip_networks",
        description: "List of network IDs that are allowed for VIP use in this zone.",
        ty: Ty::Array,
    },
];

const NOOP_FLAVOR: &[Key] = &[Key {
    name: "amp_image_tag",
    description: "The glance image tag to use for this load balancer.",
    ty: Ty::Str,
}];

const NOOP_AZ: &[Key] = &[
    Key {
        name: "compute_zone",
        description: "The compute availability zone to use for this loadbalancer.",
        ty: Ty::Str,
    },
    Key {
        name: "volume_zone",
        description: "The volume availability zone to use for this loadbalancer.",
        ty: Ty::Str,
    },
];

/// The keys `provider` supports for `profile`; `None` for an unknown provider.
pub fn keys(provider: &str, profile: Profile) -> Option<&'static [Key]> {
    match (provider, profile) {
        ("amphora" | "octavia", Profile::Flavor) => Some(AMPHORA_FLAVOR),
        ("amphora" | "octavia", Profile::AvailabilityZone) => Some(AMPHORA_AZ),
        ("noop", Profile::Flavor) => Some(NOOP_FLAVOR),
        ("noop", Profile::AvailabilityZone) => Some(NOOP_AZ),
        _ => None,
    }
}

/// Python-ish rendering of a JSON value, as jsonschema messages show it.
fn py(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// Check profile data (already parsed JSON) for `provider`; `Err` is the driver's message.
pub fn validate(provider: &str, profile: Profile, data: &Value) -> Result<(), String> {
    let Value::Object(map) = data else {
        return Err(format!("{} is not of type 'object'", py(data)));
    };
    if provider == "noop" {
        return Ok(());
    }
    let keys = keys(provider, profile).unwrap_or(&[]);
    let unexpected: Vec<String> = map
        .keys()
        .filter(|k| !keys.iter().any(|key| key.name == k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if !unexpected.is_empty() {
        let verb = if unexpected.len() == 1 { "was" } else { "were" };
        return Err(format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            unexpected.join(", ")
        ));
    }
    for key in keys {
        let Some(v) = map.get(key.name) else { continue };
        let ok = match key.ty {
            Ty::Str => v.is_string(),
            Ty::Bool => v.is_boolean(),
            Ty::Array => v.is_array(),
            Ty::OneOf(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        };
        if !ok {
            let why = match key.ty {
                Ty::Str => "is not of type 'string'".to_owned(),
                Ty::Bool => "is not of type 'boolean'".to_owned(),
                Ty::Array => "is not of type 'array'".to_owned(),
                Ty::OneOf(allowed) => format!(
                    "is not one of [{}]",
                    allowed
                        .iter()
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(format!("{} {} {why}", key.name, py(v)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn amphora_flavor_data_is_checked_like_octavias_json_schema() {
        let f = Profile::Flavor;
        assert!(validate("amphora", f, &json!({"loadbalancer_topology": "SINGLE"})).is_ok());
        assert!(validate("octavia", f, &json!({})).is_ok());
        assert_eq!(
            validate("amphora", f, &json!({"loadbalancer_topology": "TRIPLE"})).unwrap_err(),
            "loadbalancer_topology 'TRIPLE' is not one of ['SINGLE', 'ACTIVE_STANDBY']"
        );
        assert_eq!(
            validate("amphora", f, &json!({"compute_flavor": "x"})).unwrap_err(),
            "Additional properties are not allowed ('compute_flavor' was unexpected)"
        );
        assert_eq!(
            validate("amphora", f, &json!([1])).unwrap_err(),
            "[1] is not of type 'object'"
        );
        let az = Profile::AvailabilityZone;
        assert_eq!(
            validate("amphora", az, &json!({"valid_vip_networks": "n"})).unwrap_err(),
            "valid_vip_networks 'n' is not of type 'array'"
        );
        assert!(validate("noop", az, &json!({"anything": 1})).is_ok());
        assert!(keys("bogus", f).is_none());
    }
}
