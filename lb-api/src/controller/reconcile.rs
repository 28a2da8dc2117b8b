//! The reconcile loop: places load balancers, pushes host states, settles provisioning status.
//! Woken by the API on every change and every half second for retries, drift and deadlines.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    Inner,
    client::AgentError,
    health,
    host::{Host, Placement},
    lock_hosts, lock_set, render,
};
use crate::{
    model::{
        common::{Prov, now},
        graph::Graph,
        loadbalancer::LoadBalancer,
        stats::ListenerStats,
    },
    provider::noop,
    store::{self, Change, Select, StoreError},
};

const TICK: Duration = Duration::from_millis(500);
/// A host whose agent reports a state other than the desired one is re-pushed, at most this
/// often.
const DRIFT_REPUSH: Duration = Duration::from_secs(5);

/// Whether anything of the graph is `PENDING_*`.
pub fn has_pending(g: &Graph) -> bool {
    g.lbs.iter().any(|o| o.c.provisioning_status.is_pending())
        || g.listeners
            .iter()
            .any(|o| o.c.provisioning_status.is_pending())
        || g.pools.iter().any(|o| o.c.provisioning_status.is_pending())
        || g.members
            .iter()
            .any(|o| o.c.provisioning_status.is_pending())
        || g.hms.iter().any(|o| o.c.provisioning_status.is_pending())
        || g.l7policies
            .iter()
            .any(|o| o.c.provisioning_status.is_pending())
        || g.l7rules
            .iter()
            .any(|o| o.c.provisioning_status.is_pending())
}

/// Queues every load balancer with pending work (at start: what a previous process left), and
/// remembers what each host should run, so an agent that already runs it is not pushed again.
pub(crate) async fn queue_all_pending(inner: &Inner) -> Result<usize, StoreError> {
    let hosts: Vec<Host> = store::list(&*inner.store, &Select::all()).await?;
    for h in hosts {
        lock_hosts(inner).entry(h.id.clone()).or_default().desired = h.desired_hash;
    }
    let lbs: Vec<LoadBalancer> = store::list(&*inner.store, &Select::all()).await?;
    let mut n = 0;
    for lb in lbs
        .iter()
        .filter(|lb| lb.c.provisioning_status != Prov::Deleted)
    {
        let g = Graph::load_lb(&*inner.store, &lb.c.id).await?;
        if has_pending(&g) {
            lock_set(&inner.pending).insert(lb.c.id.clone());
            n += 1;
        }
    }
    Ok(n)
}

/// Runs forever.
pub(crate) async fn run(inner: Arc<Inner>) {
    loop {
        tokio::select! {
            () = inner.wake.notified() => {},
            () = tokio::time::sleep(TICK) => {},
        }
        if let Err(error) = tick(&inner).await {
            tracing::error!(%error, "reconcile pass failed; retrying");
        }
    }
}

async fn tick(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let mut to_push: HashSet<String> = HashSet::new();
    let queued: Vec<String> = lock_set(&inner.pending).iter().cloned().collect();
    for lb_id in queued {
        if let Some(host_id) = prepare(inner, &lb_id).await? {
            to_push.insert(host_id);
        }
    }
    health::watchdog(inner).await?;
    let now = Instant::now();
    {
        let hosts = lock_hosts(inner);
        for (id, live) in hosts.iter() {
            let drift = match (&live.reported, live.last_push) {
                (Some(r), last) => {
                    Some(&r.content_hash) != live.desired.as_ref()
                        && last.is_none_or(|t| now.duration_since(t) > DRIFT_REPUSH)
                }
                _ => false,
            };
            if drift {
                to_push.insert(id.clone());
            }
        }
    }
    for host_id in to_push {
        let ready = {
            let mut hosts = lock_hosts(inner);
            let live = hosts.entry(host_id.clone()).or_default();
            let ready = !live.in_flight && live.next_try.is_none_or(|t| t <= now);
            if ready {
                live.in_flight = true;
            }
            ready
        };
        if ready {
            let inner = inner.clone();
            tokio::spawn(async move {
                if let Err(error) = push_host(&inner, &host_id).await {
                    tracing::error!(%error, host = %host_id, "push pass failed");
                }
                if let Some(live) = lock_hosts(&inner).get_mut(&host_id) {
                    live.in_flight = false;
                }
                inner.wake.notify_one();
            });
        }
    }
    Ok(())
}

/// Settles what needs no agent and finds the host of a queued load balancer. `Some(host)` when
/// that host must be pushed.
async fn prepare(inner: &Inner, lb_id: &str) -> Result<Option<String>, StoreError> {
    let _guard = inner.lock.lock().await;
    let g = Graph::load_lb(&*inner.store, lb_id).await?;
    let Some(lb) = g.lb(lb_id).cloned() else {
        lock_set(&inner.pending).remove(lb_id);
        return Ok(None);
    };
    if lb.c.provisioning_status == Prov::Deleted || !has_pending(&g) {
        lock_set(&inner.pending).remove(lb_id);
        return Ok(None);
    }
    if lb.provider == "noop" {
        noop::complete(&*inner.store, lb_id).await?;
        lock_set(&inner.pending).remove(lb_id);
        return Ok(None);
    }
    let placement: Option<Placement> = store::get(&*inner.store, lb_id).await?;
    let failover = lock_set(&inner.failover).remove(lb_id);
    let current = placement.as_ref().map(|p| p.host_id.clone());
    let host_id = match current {
        Some(h) if !(failover && health::is_silent(inner, &h)) => h,
        previous => {
            if lb.c.provisioning_status == Prov::PendingDelete && previous.is_none() {
                // Never pushed anywhere: nothing to undo.
                noop::complete(&*inner.store, lb_id).await?;
                lock_set(&inner.pending).remove(lb_id);
                return Ok(None);
            }
            match choose_host(inner, &lb, previous.as_deref()).await? {
                Some(h) => {
                    let p = Placement {
                        lb_id: lb_id.to_owned(),
                        amphora_id: crate::model::common::new_id(),
                        host_id: h.id.clone(),
                        created_at: now(),
                    };
                    inner.store.commit(vec![store::put(&p)?]).await?;
                    tracing::info!(lb = lb_id, host = %h.name, "load balancer placed");
                    if let Some(old) = previous {
                        // The old host drops the load balancer when it is reachable again.
                        lock_hosts(inner).entry(old).or_default().reported = None;
                    }
                    h.id
                }
                None if previous.is_some() => {
                    // Failover without another host: re-push where it is.
                    previous.unwrap_or_default()
                }
                None => {
                    let reason = format!(
                        "no amphora host serves subnet {}",
                        lb.vip_subnet_id.as_deref().unwrap_or("(none)")
                    );
                    tracing::warn!(lb = lb_id, %reason, "load balancer cannot be placed");
                    mark_error(inner, lb_id, &reason).await?;
                    lock_set(&inner.pending).remove(lb_id);
                    return Ok(None);
                }
            }
        }
    };
    Ok(Some(host_id))
}

/// The enabled host serving the load balancer's VIP subnet with the fewest load balancers,
/// other than `exclude`.
async fn choose_host(
    inner: &Inner,
    lb: &LoadBalancer,
    exclude: Option<&str>,
) -> Result<Option<Host>, StoreError> {
    let Some(subnet) = lb.vip_subnet_id.as_deref() else {
        return Ok(None);
    };
    let hosts: Vec<Host> = store::list(&*inner.store, &Select::all()).await?;
    let placements: Vec<Placement> = store::list(&*inner.store, &Select::all()).await?;
    Ok(hosts
        .into_iter()
        .filter(|h| h.admin_state_up && h.subnet_ids.iter().any(|s| s == subnet))
        .filter(|h| Some(h.id.as_str()) != exclude && !health::is_silent(inner, &h.id))
        .min_by_key(|h| placements.iter().filter(|p| p.host_id == h.id).count()))
}

/// Renders, records and pushes one host's state, then settles what it carried.
async fn push_host(inner: &Inner, host_id: &str) -> Result<(), StoreError> {
    // Render and record the intent under the API lock: nothing changes underneath.
    let (host, rendered, settled) = {
        let _guard = inner.lock.lock().await;
        let Some(mut host) = store::get::<Host>(&*inner.store, host_id).await? else {
            return Ok(());
        };
        let placements: Vec<Placement> = store::list(
            &*inner.store,
            &Select {
                parent_id: Some(host_id.to_owned()),
                ..Select::default()
            },
        )
        .await?;
        let mut graphs = Vec::new();
        let mut settled = Vec::new();
        for p in placements {
            let g = Graph::load_lb(&*inner.store, &p.lb_id).await?;
            if has_pending(&g) {
                settled.push(p.lb_id.clone());
            }
            graphs.push((p.lb_id, g));
        }
        let generation = host.generation.max(
            lock_hosts(inner)
                .get(host_id)
                .and_then(|l| l.reported.as_ref())
                .map_or(0, |r| r.generation),
        ) + 1;
        let rendered = render::host(&host, generation, &graphs);
        for (listener, reason) in &rendered.skipped {
            tracing::warn!(%listener, %reason, "listener not rendered");
        }
        if let Err(e) = rendered.state.validate() {
            let reason = format!("the rendered state is invalid: {e}");
            for lb_id in &settled {
                mark_error(inner, lb_id, &reason).await?;
                lock_set(&inner.pending).remove(lb_id);
            }
            host.last_error = Some(reason);
            inner.store.commit(vec![store::put(&host)?]).await?;
            return Ok(());
        }
        host.generation = generation;
        host.desired_hash = Some(rendered.state.content_hash());
        host.updated_at = Some(now());
        inner.store.commit(vec![store::put(&host)?]).await?;
        lock_hosts(inner)
            .entry(host_id.to_owned())
            .or_default()
            .desired = host.desired_hash.clone();
        super::crash_point("after_intent");
        (host, rendered, settled)
    };

    let address = host.address.parse().map_err(|_| StoreError::Corrupt {
        kind: "amphora_host".into(),
        id: host.id.clone(),
        source: serde::de::Error::custom("address is not an IP address"),
    })?;
    let result = inner.client.push(address, host.port, &rendered.state).await;
    super::crash_point("after_push");
    lock_hosts(inner)
        .entry(host_id.to_owned())
        .or_default()
        .last_push = Some(Instant::now());

    let _guard = inner.lock.lock().await;
    let Some(mut host) = store::get::<Host>(&*inner.store, host_id).await? else {
        return Ok(());
    };
    match result {
        Ok(applied) => {
            tracing::info!(host = %host.name, generation = applied.generation, load_balancers = settled.len(), "host state applied");
            host.applied_generation = Some(applied.generation);
            host.applied_hash = Some(applied.content_hash.clone());
            host.last_error = None;
            inner.store.commit(vec![store::put(&host)?]).await?;
            {
                let mut hosts = lock_hosts(inner);
                let live = hosts.entry(host_id.to_owned()).or_default();
                live.reported = Some(applied);
                live.failing_since = None;
                live.next_try = None;
            }
            for lb_id in &settled {
                finish(inner, lb_id).await?;
            }
        }
        Err(AgentError::Stale(applied)) => {
            tracing::warn!(host = %host.name, agent_generation = applied.generation, "agent is ahead; pushing a newer generation");
            host.generation = host.generation.max(applied.generation);
            inner.store.commit(vec![store::put(&host)?]).await?;
            for lb_id in &settled {
                lock_set(&inner.pending).insert(lb_id.clone());
            }
            lock_hosts(inner)
                .entry(host_id.to_owned())
                .or_default()
                .reported = Some(applied);
        }
        Err(AgentError::Refused(reason)) => {
            tracing::error!(host = %host.name, %reason, "agent refused the state");
            for lb_id in &settled {
                mark_error(inner, lb_id, &reason).await?;
                lock_set(&inner.pending).remove(lb_id);
            }
            host.last_error = Some(reason);
            inner.store.commit(vec![store::put(&host)?]).await?;
        }
        Err(error) => {
            let reason = error.to_string();
            let give_up = {
                let mut hosts = lock_hosts(inner);
                let live = hosts.entry(host_id.to_owned()).or_default();
                let since = *live.failing_since.get_or_insert_with(Instant::now);
                let failing = since.elapsed();
                let backoff = Duration::from_millis(500)
                    .saturating_mul(1 << failing.as_secs().min(3))
                    .min(Duration::from_secs(4));
                live.next_try = Some(Instant::now() + backoff);
                failing >= inner.config.retry_deadline
            };
            host.last_error = Some(reason.clone());
            inner.store.commit(vec![store::put(&host)?]).await?;
            if give_up {
                tracing::error!(host = %host.name, %reason, "agent unreachable past the retry deadline");
                for lb_id in &settled {
                    give_up_on(inner, lb_id, &reason).await?;
                    lock_set(&inner.pending).remove(lb_id);
                }
                if let Some(live) = lock_hosts(inner).get_mut(host_id) {
                    live.failing_since = None;
                }
            } else {
                tracing::warn!(host = %host.name, %reason, "push failed; retrying");
                for lb_id in &settled {
                    lock_set(&inner.pending).insert(lb_id.clone());
                }
            }
        }
    }
    Ok(())
}

/// Whether the load balancer itself is being deleted.
async fn being_deleted(inner: &Inner, lb_id: &str) -> Result<bool, StoreError> {
    Ok(store::get::<LoadBalancer>(&*inner.store, lb_id)
        .await?
        .is_some_and(|lb| lb.c.provisioning_status == Prov::PendingDelete))
}

/// The agent runs the state: complete what was pending (deletions remove the rows).
async fn finish(inner: &Inner, lb_id: &str) -> Result<(), StoreError> {
    let deleting = being_deleted(inner, lb_id).await?;
    noop::complete(&*inner.store, lb_id).await?;
    if deleting {
        forget(inner, lb_id).await?;
    }
    lock_set(&inner.pending).remove(lb_id);
    Ok(())
}

/// Removes the placement and counters of a deleted load balancer.
async fn forget(inner: &Inner, lb_id: &str) -> Result<(), StoreError> {
    let stats: Vec<ListenerStats> = store::list(&*inner.store, &Select::lb(lb_id)).await?;
    let mut changes: Vec<Change> = stats
        .iter()
        .map(|s| store::delete::<ListenerStats>(&s.id))
        .collect();
    changes.push(store::delete::<Placement>(lb_id));
    inner.store.commit(changes).await
}

/// The agent stayed unreachable: deletions complete (the agent is corrected when it is back),
/// everything else ends in ERROR.
async fn give_up_on(inner: &Inner, lb_id: &str, reason: &str) -> Result<(), StoreError> {
    if being_deleted(inner, lb_id).await? {
        finish(inner, lb_id).await
    } else {
        mark_error(inner, lb_id, reason).await
    }
}

/// Every pending object under the load balancer (and the load balancer) → ERROR.
pub(crate) async fn mark_error(inner: &Inner, lb_id: &str, reason: &str) -> Result<(), StoreError> {
    let g = Graph::load_lb(&*inner.store, lb_id).await?;
    let mut changes = Vec::new();
    macro_rules! fail {
        ($list:expr) => {
            for o in &$list {
                if o.c.provisioning_status.is_pending() {
                    let mut o = o.clone();
                    o.c.provisioning_status = Prov::Error;
                    o.c.updated_at = Some(now());
                    changes.push(store::put(&o)?);
                }
            }
        };
    }
    fail!(g.l7rules);
    fail!(g.l7policies);
    fail!(g.hms);
    fail!(g.members);
    fail!(g.pools);
    fail!(g.listeners);
    if let Some(lb) = g.lb(lb_id) {
        let mut lb = lb.clone();
        lb.c.provisioning_status = Prov::Error;
        lb.c.updated_at = Some(now());
        changes.push(store::put(&lb)?);
    }
    tracing::error!(lb = lb_id, %reason, "change ended in ERROR");
    inner.store.commit(changes).await
}
