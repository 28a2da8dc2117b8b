//! [`Graph`]: every Octavia object of one scope (a load balancer, a project, or all), loaded at
//! once so responses can carry their related ids and mutations can check their neighbours.

use serde_json::{Value, json};

use super::{
    common::id_refs, healthmonitor::HealthMonitor, l7policy::L7Policy, l7rule::L7Rule,
    listener::Listener, loadbalancer::LoadBalancer, member::Member, pool::Pool,
};
use crate::store::{self, Change, Select, Store, StoreError};

/// Objects of one scope, each list ordered by `created_at, id`.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    pub lbs: Vec<LoadBalancer>,
    pub listeners: Vec<Listener>,
    pub pools: Vec<Pool>,
    pub members: Vec<Member>,
    pub hms: Vec<HealthMonitor>,
    pub l7policies: Vec<L7Policy>,
    pub l7rules: Vec<L7Rule>,
}

impl Graph {
    /// Load every kind matching `select`.
    pub async fn load(store: &dyn Store, select: &Select) -> Result<Self, StoreError> {
        Ok(Self {
            lbs: store::list(store, select).await?,
            listeners: store::list(store, select).await?,
            pools: store::list(store, select).await?,
            members: store::list(store, select).await?,
            hms: store::list(store, select).await?,
            l7policies: store::list(store, select).await?,
            l7rules: store::list(store, select).await?,
        })
    }

    /// Load the graph of one load balancer.
    pub async fn load_lb(store: &dyn Store, lb_id: &str) -> Result<Self, StoreError> {
        Self::load(store, &Select::lb(lb_id)).await
    }

    pub fn lb(&self, id: &str) -> Option<&LoadBalancer> {
        self.lbs.iter().find(|o| o.c.id == id)
    }
    pub fn listener(&self, id: &str) -> Option<&Listener> {
        self.listeners.iter().find(|o| o.c.id == id)
    }
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|o| o.c.id == id)
    }
    pub fn l7policy(&self, id: &str) -> Option<&L7Policy> {
        self.l7policies.iter().find(|o| o.c.id == id)
    }
    /// Listeners using pool `pool_id`, as Octavia's `Pool.listeners` (`db/models.py`): those
    /// whose default pool it is, then those with an enabled L7 policy that has rules and
    /// redirects to it.
    pub fn pool_listener_ids(&self, pool_id: &str) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .listeners
            .iter()
            .filter(|l| l.default_pool_id.as_deref() == Some(pool_id))
            .map(|l| l.c.id.as_str())
            .collect();
        for p in &self.l7policies {
            if p.redirect_pool_id.as_deref() == Some(pool_id)
                && p.c.admin_state_up
                && self.l7rules.iter().any(|r| r.l7policy_id == p.c.id)
                && !ids.contains(&p.listener_id.as_str())
            {
                ids.push(p.listener_id.as_str());
            }
        }
        ids
    }
    /// The monitor of a pool.
    pub fn pool_hm(&self, pool_id: &str) -> Option<&HealthMonitor> {
        self.hms.iter().find(|h| h.pool_id == pool_id)
    }

    pub fn lb_wire(&self, lb: &LoadBalancer) -> Value {
        let listeners = self
            .listeners
            .iter()
            .filter(|l| l.loadbalancer_id == lb.c.id)
            .map(|l| l.c.id.as_str());
        let pools = self
            .pools
            .iter()
            .filter(|p| p.loadbalancer_id == lb.c.id)
            .map(|p| p.c.id.as_str());
        lb.wire(id_refs(listeners), id_refs(pools))
    }

    pub fn listener_wire(&self, l: &Listener) -> Value {
        let mut policies: Vec<&L7Policy> = self
            .l7policies
            .iter()
            .filter(|p| p.listener_id == l.c.id)
            .collect();
        policies.sort_by_key(|p| p.position);
        l.wire(id_refs(policies.iter().map(|p| p.c.id.as_str())))
    }

    pub fn pool_wire(&self, p: &Pool) -> Value {
        let listeners = self.pool_listener_ids(&p.c.id);
        let members = self
            .members
            .iter()
            .filter(|m| m.pool_id == p.c.id)
            .map(|m| m.c.id.as_str());
        p.wire(
            id_refs(listeners),
            id_refs(members),
            self.pool_hm(&p.c.id).map(|h| h.c.id.as_str()),
        )
    }

    pub fn l7policy_wire(&self, p: &L7Policy) -> Value {
        let rules = self
            .l7rules
            .iter()
            .filter(|r| r.l7policy_id == p.c.id)
            .map(|r| r.c.id.as_str());
        p.wire(id_refs(rules))
    }

    /// Pools a listener uses: its default pool and its L7 redirect pools.
    fn listener_pools(&self, l: &Listener) -> Vec<&Pool> {
        let mut ids: Vec<&str> = l.default_pool_id.iter().map(String::as_str).collect();
        for p in self.l7policies.iter().filter(|p| p.listener_id == l.c.id) {
            if let Some(id) = p.redirect_pool_id.as_deref()
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids.into_iter().filter_map(|id| self.pool(id)).collect()
    }

    /// `GET …/loadbalancers/{id}/status` tree (Octavia's actual shape, §3.3).
    pub fn status_tree(&self, lb: &LoadBalancer) -> Value {
        let name = |n: &Option<String>| n.clone().unwrap_or_default();
        let listeners: Vec<Value> = self
            .listeners
            .iter()
            .filter(|l| l.loadbalancer_id == lb.c.id)
            .map(|l| {
                let pools: Vec<Value> = self
                    .listener_pools(l)
                    .into_iter()
                    .map(|p| {
                        let members: Vec<Value> = self
                            .members
                            .iter()
                            .filter(|m| m.pool_id == p.c.id)
                            .map(|m| {
                                json!({
                                    "id": m.c.id, "name": name(&m.c.name),
                                    "operating_status": m.c.operating_status,
                                    "provisioning_status": m.c.provisioning_status,
                                    "address": m.address, "protocol_port": m.protocol_port,
                                })
                            })
                            .collect();
                        let mut pool = json!({
                            "id": p.c.id, "name": name(&p.c.name),
                            "provisioning_status": p.c.provisioning_status,
                            "operating_status": p.c.operating_status,
                            "members": members,
                        });
                        // `null` without a monitor, as Octavia's PoolStatusResponse.
                        pool["health_monitor"] = self.pool_hm(&p.c.id).map_or(Value::Null, |h| {
                            json!({
                                "id": h.c.id, "name": name(&h.c.name), "type": h.kind,
                                "provisioning_status": h.c.provisioning_status,
                                "operating_status": h.c.operating_status,
                            })
                        });
                        pool
                    })
                    .collect();
                json!({
                    "id": l.c.id, "name": name(&l.c.name),
                    "operating_status": l.c.operating_status,
                    "provisioning_status": l.c.provisioning_status,
                    "pools": pools,
                })
            })
            .collect();
        json!({"statuses": {"loadbalancer": {
            "id": lb.c.id, "name": name(&lb.c.name),
            "operating_status": lb.c.operating_status,
            "provisioning_status": lb.c.provisioning_status,
            "listeners": listeners,
        }}})
    }

    /// `Put` changes for every object in the graph (used when whole subtrees change state).
    pub fn put_all(&self) -> Result<Vec<Change>, StoreError> {
        let mut out = Vec::new();
        for o in &self.lbs {
            out.push(store::put(o)?);
        }
        for o in &self.listeners {
            out.push(store::put(o)?);
        }
        for o in &self.pools {
            out.push(store::put(o)?);
        }
        for o in &self.members {
            out.push(store::put(o)?);
        }
        for o in &self.hms {
            out.push(store::put(o)?);
        }
        for o in &self.l7policies {
            out.push(store::put(o)?);
        }
        for o in &self.l7rules {
            out.push(store::put(o)?);
        }
        Ok(out)
    }
}
