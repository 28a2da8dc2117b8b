//! The `noop` driver: like Octavia's noop driver, it accepts every change, and (unlike it,
//! which leaves the status to the test harness) completes it shortly after on a background task:
//! `PENDING_CREATE`/`PENDING_UPDATE` → `ACTIVE`, `PENDING_DELETE` → removed (a load balancer is
//! soft-deleted to `DELETED` and its VIP port released). Operating status stays as created
//! (`OFFLINE` / `NO_MONITOR`), as Octavia reports when no amphora sends heartbeats.
//! On start, [`Noop::resume`] completes whatever a previous process left pending.

use std::{sync::Arc, time::Duration};

use tokio::sync::Mutex;

use super::Driver;
use crate::{
    model::{
        common::{Oper, Prov, now},
        graph::Graph,
        l7policy::L7Policy,
        listener::Listener,
        loadbalancer::LoadBalancer,
        network::Port,
    },
    store::{self, Change, Object, Select, Store, StoreError},
};

/// The noop driver.
#[derive(Clone)]
pub struct Noop {
    store: Arc<dyn Store>,
    lock: Arc<Mutex<()>>,
    delay: Duration,
}

impl Noop {
    /// `lock` is the API's write lock; completions take it like any mutation.
    pub fn new(store: Arc<dyn Store>, lock: Arc<Mutex<()>>, delay: Duration) -> Self {
        Self { store, lock, delay }
    }

    /// Complete every load balancer that has pending work.
    pub async fn resume(&self) -> Result<(), StoreError> {
        let lbs: Vec<LoadBalancer> = store::list(&*self.store, &Select::all()).await?;
        for lb in lbs
            .iter()
            .filter(|lb| lb.c.provisioning_status != Prov::Deleted)
        {
            let _guard = self.lock.lock().await;
            complete(&*self.store, &lb.c.id).await?;
        }
        Ok(())
    }
}

impl Driver for Noop {
    fn changed(&self, lb_id: &str) {
        let this = self.clone();
        let lb_id = lb_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(this.delay).await;
            let _guard = this.lock.lock().await;
            if let Err(error) = complete(&*this.store, &lb_id).await {
                tracing::error!(%error, lb_id, "noop provider could not complete a change");
            }
        });
    }
}

fn settle(status: &mut Prov, updated_at: &mut Option<String>) -> bool {
    if matches!(status, Prov::PendingCreate | Prov::PendingUpdate) {
        *status = Prov::Active;
        if updated_at.is_none() {
            *updated_at = Some(now());
        }
        true
    } else {
        false
    }
}

/// Move everything pending under `lb_id` to its final state, in one commit.
pub async fn complete(store: &dyn Store, lb_id: &str) -> Result<(), StoreError> {
    let mut g = Graph::load_lb(store, lb_id).await?;
    let Some(lb) = g.lbs.first().cloned() else {
        return Ok(());
    };
    let mut changes: Vec<Change> = Vec::new();
    if lb.c.provisioning_status == Prov::PendingDelete {
        for c in g.put_all()? {
            if let Change::Put(row) = c
                && row.id != lb.c.id
            {
                changes.push(Change::Delete {
                    kind: kind_static(&row.kind),
                    id: row.id,
                });
            }
        }
        let mut gone = lb.clone();
        gone.c.provisioning_status = Prov::Deleted;
        gone.c.operating_status = Oper::Offline;
        gone.c.updated_at = Some(now());
        changes.push(store::put(&gone)?);
        if let Some(port_id) = &lb.vip_port_id
            && let Some(mut port) = store::get::<Port>(store, port_id).await?
        {
            if port.name == format!("octavia-lb-{}", lb.c.id) {
                changes.push(store::delete::<Port>(port_id));
            } else {
                port.device_id.clear();
                port.device_owner.clear();
                changes.push(store::put(&port)?);
            }
        }
        return store.commit(changes).await;
    }

    macro_rules! sweep {
        ($list:expr, $t:ty) => {{
            let mut kept = Vec::new();
            for mut o in std::mem::take(&mut $list) {
                if o.c.provisioning_status == Prov::PendingDelete {
                    changes.push(store::delete::<$t>(&o.c.id));
                } else {
                    if settle(&mut o.c.provisioning_status, &mut o.c.updated_at) {
                        changes.push(store::put(&o)?);
                    }
                    kept.push(o);
                }
            }
            $list = kept;
        }};
    }
    let deleted_pools: Vec<String> = g
        .pools
        .iter()
        .filter(|p| p.c.provisioning_status == Prov::PendingDelete)
        .map(|p| p.c.id.clone())
        .collect();
    sweep!(g.l7rules, crate::model::l7rule::L7Rule);
    sweep!(g.l7policies, L7Policy);
    sweep!(g.hms, crate::model::healthmonitor::HealthMonitor);
    sweep!(g.members, crate::model::member::Member);
    sweep!(g.pools, crate::model::pool::Pool);
    // Listeners whose default pool went away lose the reference (Octavia's ON DELETE).
    for l in &mut g.listeners {
        if l.default_pool_id
            .as_ref()
            .is_some_and(|p| deleted_pools.contains(p))
        {
            l.default_pool_id = None;
            if l.c.provisioning_status != Prov::PendingDelete {
                changes.push(store::put(&*l)?);
            }
        }
    }
    sweep!(g.listeners, Listener);
    // Keep L7 policy positions 1..n contiguous per listener.
    for l in &g.listeners {
        let mut policies: Vec<&mut L7Policy> = g
            .l7policies
            .iter_mut()
            .filter(|p| p.listener_id == l.c.id)
            .collect();
        policies.sort_by_key(|p| p.position);
        for (i, p) in policies.into_iter().enumerate() {
            let want = i64::try_from(i + 1).unwrap_or(i64::MAX);
            if p.position != want {
                p.position = want;
                changes.push(store::put(&*p)?);
            }
        }
    }
    let mut lb = lb;
    if settle(&mut lb.c.provisioning_status, &mut lb.c.updated_at) {
        changes.push(store::put(&lb)?);
    }
    if changes.is_empty() {
        return Ok(());
    }
    store.commit(changes).await
}

fn kind_static(kind: &str) -> &'static str {
    use crate::model::{healthmonitor::HealthMonitor, l7rule::L7Rule, member::Member, pool::Pool};
    [
        LoadBalancer::KIND,
        Listener::KIND,
        Pool::KIND,
        Member::KIND,
        HealthMonitor::KIND,
        L7Policy::KIND,
        L7Rule::KIND,
    ]
    .into_iter()
    .find(|k| *k == kind)
    .unwrap_or("unknown")
}
