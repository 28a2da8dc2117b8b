//! Drives the probes: one task owns every monitored member's [`RiseFall`], starts each probe
//! when due (members spread over the first period by a jitter derived from their id, so many
//! members never probe in lockstep), runs at most [`MAX_CONCURRENT`] probes at once, and sends
//! each up/down transition to the runtime. A new target list keeps the state of members whose
//! check did not change, so re-pushing a state does not reset health.

use std::{
    collections::{HashMap, HashSet},
    hash::{DefaultHasher, Hash as _, Hasher as _},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use lb_proto::{DesiredState, Monitor};
use tokio::sync::{Semaphore, mpsc, watch};

use super::{Health, RiseFall, probe};

/// Probes in flight at most.
pub const MAX_CONCURRENT: usize = 64;

/// One member to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub member_id: String,
    pub monitor: Monitor,
    pub addr: SocketAddr,
}

/// A member's health changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub member_id: String,
    pub health: Health,
}

/// The members a state asks to be checked: members (administratively up) of pools whose
/// monitor is administratively up, at their monitor address/port if set.
#[must_use]
pub fn targets(state: &DesiredState) -> Vec<Target> {
    let mut out = Vec::new();
    for pool in state.loadbalancers.iter().flat_map(|lb| &lb.pools) {
        let Some(monitor) = pool.monitor.as_ref().filter(|m| m.admin_state_up) else {
            continue;
        };
        for m in pool.members.iter().filter(|m| m.admin_state_up) {
            out.push(Target {
                member_id: m.id.clone(),
                monitor: monitor.clone(),
                addr: SocketAddr::new(
                    m.monitor_address.unwrap_or(m.address),
                    m.monitor_port.unwrap_or(m.protocol_port),
                ),
            });
        }
    }
    out
}

fn jitter_ms(id: &str, period_ms: u64) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish() % period_ms.max(1)
}

struct Entry {
    target: Target,
    machine: RiseFall,
}

/// Runs until `targets` closes.
pub async fn run(
    mut targets: watch::Receiver<Vec<Target>>,
    transitions: mpsc::UnboundedSender<Transition>,
) {
    let epoch = Instant::now();
    let now_ms = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let (results_tx, mut results) =
        mpsc::unbounded_channel::<(String, Target, Result<(), String>)>();
    let mut entries: HashMap<String, Entry> = HashMap::new();
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut update = true;
    loop {
        if update {
            update = false;
            let wanted = targets.borrow_and_update().clone();
            let now = now_ms();
            let keep: HashSet<&str> = wanted.iter().map(|t| t.member_id.as_str()).collect();
            entries.retain(|id, _| keep.contains(id.as_str()));
            for t in wanted {
                if entries.get(&t.member_id).is_some_and(|e| e.target == t) {
                    continue;
                }
                let period = u64::from(t.monitor.delay.max(1)) * 1000;
                let machine = RiseFall::new(
                    t.monitor.max_retries,
                    t.monitor.max_retries_down,
                    period,
                    now + jitter_ms(&t.member_id, period),
                );
                // A member (re)starts up: tell the runtime in case it was down.
                let _ = transitions.send(Transition {
                    member_id: t.member_id.clone(),
                    health: Health::Up,
                });
                entries.insert(t.member_id.clone(), Entry { target: t, machine });
            }
        }
        let now = now_ms();
        for (id, e) in &mut entries {
            if e.machine.due(now) && !in_flight.contains(id) {
                e.machine.started(now);
                in_flight.insert(id.clone());
                let (tx, permits, target, id) = (
                    results_tx.clone(),
                    permits.clone(),
                    e.target.clone(),
                    id.clone(),
                );
                tokio::spawn(async move {
                    let Ok(_permit) = permits.acquire_owned().await else {
                        return;
                    };
                    let result = probe::probe(&target.monitor, target.addr).await;
                    let _ = tx.send((id, target, result));
                });
            }
        }
        let next = entries
            .values()
            .map(|e| e.machine.next_due_ms())
            .min()
            .unwrap_or(now + 1000);
        let sleep = Duration::from_millis(next.saturating_sub(now).max(1));
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            changed = targets.changed() => {
                if changed.is_err() {
                    return;
                }
                update = true;
            }
            Some((id, target, result)) = results.recv() => {
                in_flight.remove(&id);
                let Some(e) = entries.get_mut(&id).filter(|e| e.target == target) else {
                    continue;
                };
                if let Some(health) = e.machine.observe(result.is_ok()) {
                    match &result {
                        Err(why) => tracing::warn!(member = %id, addr = %target.addr, %why, "member down"),
                        Ok(()) => tracing::info!(member = %id, addr = %target.addr, "member up"),
                    }
                    let _ = transitions.send(Transition { member_id: id, health });
                } else if let Err(why) = &result {
                    tracing::debug!(member = %id, %why, "probe failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(monitor_up: bool, member_up: bool) -> DesiredState {
        serde_json::from_value(serde_json::json!({
            "version": 1, "generation": 1, "snat": {"ipv4": "198.18.1.1"},
            "loadbalancers": [{"id": "lb", "vip_address": "198.18.0.100", "pools": [{
                "id": "p", "lb_algorithm": "ROUND_ROBIN",
                "monitor": {"id": "hm", "type": "HTTP", "delay": 1, "timeout": 1,
                            "max_retries": 2, "admin_state_up": monitor_up},
                "members": [
                    {"id": "m1", "address": "198.18.1.11", "protocol_port": 80,
                     "admin_state_up": member_up},
                    {"id": "m2", "address": "198.18.1.12", "protocol_port": 80,
                     "monitor_address": "198.18.1.99", "monitor_port": 8081}
                ]}]}]
        }))
        .expect("state")
    }

    #[test]
    fn members_are_checked_at_their_monitor_address_unless_something_is_down() {
        let t = targets(&state(true, true));
        let addrs: Vec<String> = t.iter().map(|t| t.addr.to_string()).collect();
        assert_eq!(addrs, ["198.18.1.11:80", "198.18.1.99:8081"]);
        assert_eq!(t[0].monitor.max_retries_down, 3, "Octavia's default fall");
        // An administratively down member is not checked; a down monitor checks nobody.
        assert_eq!(targets(&state(true, false)).len(), 1);
        assert!(targets(&state(false, true)).is_empty());
    }
}
