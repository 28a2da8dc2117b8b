//! Quotas (`quota` / `quotas`): per-project limits on how many objects of each kind may exist,
//! stored only for projects an admin has set (`null`/absent = the configured default), and the
//! configured defaults themselves ([`Limits`], Octavia's `[quotas] default_*_quota`, −1 =
//! unlimited).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Octavia's `QUOTA_UNLIMITED` (also the smallest accepted value).
pub const UNLIMITED: i64 = -1;
/// Octavia's `MAX_QUOTA`.
pub const MAX: i64 = 2_000_000_000;

/// A kind of object a quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    LoadBalancer,
    Listener,
    Pool,
    HealthMonitor,
    Member,
    L7Policy,
    L7Rule,
}

impl Resource {
    /// Every limited kind, in the order quota bodies list them.
    pub const ALL: [Self; 7] = [
        Self::LoadBalancer,
        Self::Listener,
        Self::Member,
        Self::Pool,
        Self::HealthMonitor,
        Self::L7Policy,
        Self::L7Rule,
    ];

    /// The name in `Quota has been met for resources: <name>` (Octavia's data model `_name()`).
    pub fn name(self) -> &'static str {
        match self {
            Self::LoadBalancer => "Load Balancer",
            Self::Listener => "Listener",
            Self::Pool => "Pool",
            Self::HealthMonitor => "Health Monitor",
            Self::Member => "Member",
            Self::L7Policy => "L7 Policy",
            Self::L7Rule => "L7 Rule",
        }
    }

    /// The store row kind of the objects counted.
    pub fn kind(self) -> &'static str {
        match self {
            Self::LoadBalancer => "loadbalancer",
            Self::Listener => "listener",
            Self::Pool => "pool",
            Self::HealthMonitor => "healthmonitor",
            Self::Member => "member",
            Self::L7Policy => "l7policy",
            Self::L7Rule => "l7rule",
        }
    }

    /// The attribute names in request and response bodies: the current one and, for two
    /// kinds, the misspelling Octavia still accepts and returns (deprecated in Rocky).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Self::LoadBalancer => &["loadbalancer", "load_balancer"],
            Self::Listener => &["listener"],
            Self::Pool => &["pool"],
            Self::HealthMonitor => &["healthmonitor", "health_monitor"],
            Self::Member => &["member"],
            Self::L7Policy => &["l7policy"],
            Self::L7Rule => &["l7rule"],
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Every attribute a quota PUT body may carry.
pub fn put_keys() -> Vec<&'static str> {
    Resource::ALL
        .iter()
        .flat_map(|r| r.keys())
        .copied()
        .collect()
}

/// One limit per resource (the configured defaults, or a project's effective quota).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits([i64; 7]);

impl Default for Limits {
    /// Octavia's defaults: everything unlimited.
    fn default() -> Self {
        Self([UNLIMITED; 7])
    }
}

impl Limits {
    /// The limit for one resource.
    pub fn get(&self, r: Resource) -> i64 {
        self.0[r.index()]
    }

    /// Change the limit for one resource.
    pub fn set(&mut self, r: Resource, value: i64) {
        self.0[r.index()] = value;
    }

    /// Apply `RESOURCE=N` (either spelling, e.g. `loadbalancer=10`, `health_monitor=-1`), as
    /// the `--default-quota` option takes it.
    pub fn assign(&mut self, spec: &str) -> Result<(), String> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}`: expected RESOURCE=N"))?;
        let r = Resource::ALL
            .into_iter()
            .find(|r| r.keys().contains(&key.trim()))
            .ok_or_else(|| format!("`{key}`: not one of {}", put_keys().join(", ")))?;
        let n: i64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{value}`: not an integer"))?;
        if !(UNLIMITED..=MAX).contains(&n) {
            return Err(format!("`{n}`: must be -1 (unlimited) to {MAX}"));
        }
        self.set(r, n);
        Ok(())
    }

    /// Wire form for `project_id`.
    pub fn wire(&self, project_id: &str) -> Value {
        let values: Vec<Option<i64>> = Resource::ALL.iter().map(|r| Some(self.get(*r))).collect();
        wire(project_id, &values)
    }
}

fn wire(project_id: &str, values: &[Option<i64>]) -> Value {
    let mut m = Map::new();
    m.insert("project_id".into(), json!(project_id));
    m.insert("tenant_id".into(), json!(project_id));
    for (r, v) in Resource::ALL.iter().zip(values) {
        for key in r.keys() {
            m.insert((*key).into(), json!(v));
        }
    }
    Value::Object(m)
}

/// A project's stored quota; `None` = the configured default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quota {
    pub project_id: String,
    pub created_at: String,
    pub load_balancer: Option<i64>,
    pub listener: Option<i64>,
    pub member: Option<i64>,
    pub pool: Option<i64>,
    pub health_monitor: Option<i64>,
    pub l7policy: Option<i64>,
    pub l7rule: Option<i64>,
}

crate::store::row_object!(
    Quota,
    "quota",
    |s| id = &s.project_id,
    project = Some(&s.project_id),
    lb = None,
    parent = None,
    created = &s.created_at
);

impl Quota {
    /// The stored value for one resource.
    pub fn get(&self, r: Resource) -> Option<i64> {
        match r {
            Resource::LoadBalancer => self.load_balancer,
            Resource::Listener => self.listener,
            Resource::Pool => self.pool,
            Resource::HealthMonitor => self.health_monitor,
            Resource::Member => self.member,
            Resource::L7Policy => self.l7policy,
            Resource::L7Rule => self.l7rule,
        }
    }

    /// Store a value (`None` = back to the default).
    pub fn set(&mut self, r: Resource, value: Option<i64>) {
        let slot = match r {
            Resource::LoadBalancer => &mut self.load_balancer,
            Resource::Listener => &mut self.listener,
            Resource::Pool => &mut self.pool,
            Resource::HealthMonitor => &mut self.health_monitor,
            Resource::Member => &mut self.member,
            Resource::L7Policy => &mut self.l7policy,
            Resource::L7Rule => &mut self.l7rule,
        };
        *slot = value;
    }

    /// The limits in force: stored values over `defaults`.
    pub fn effective(&self, defaults: &Limits) -> Limits {
        let mut l = *defaults;
        for r in Resource::ALL {
            if let Some(v) = self.get(r) {
                l.set(r, v);
            }
        }
        l
    }

    /// Wire form as stored (unset values `null`), as Octavia's quota list shows rows.
    pub fn wire_stored(&self) -> Value {
        let values: Vec<Option<i64>> = Resource::ALL.iter().map(|r| self.get(*r)).collect();
        wire(&self.project_id, &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_quota_assignments_take_either_spelling_and_check_the_range() {
        let mut l = Limits::default();
        l.assign("loadbalancer=10").unwrap();
        l.assign("health_monitor = 3").unwrap();
        assert_eq!(l.get(Resource::LoadBalancer), 10);
        assert_eq!(l.get(Resource::HealthMonitor), 3);
        assert_eq!(l.get(Resource::Pool), UNLIMITED);
        assert!(l.assign("pool=-2").is_err());
        assert!(l.assign("amphora=1").is_err());
        assert!(l.assign("pool").is_err());
        assert!(l.assign("pool=x").is_err());
    }
}
