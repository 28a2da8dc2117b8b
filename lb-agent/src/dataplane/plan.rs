//! From desired state to map contents (pure): slots, VIP entries, member addresses, and each
//! pool's selection tables. The kernel side only indexes what this computes.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
};

use lb_common::{
    addr::{FAMILY_V4, FAMILY_V6, IPPROTO_TCP, IPPROTO_UDP, v4},
    backend::{BACKEND_F_VALID, Backend, MAX_POOL_MEMBERS, PoolInfo, RING_SIZE, RR_SIZE},
    config::LbConfig,
    maps::{MAX_BACKENDS, MAX_LISTENERS, MAX_POOLS},
    vip::{
        ACL_LISTENER_BITS, AclKey, AddrKey, Algorithm as KAlgorithm, VIP_F_ACL, VIP_F_DOWN,
        VipInfo, VipKey,
    },
};
use lb_proto::{Algorithm, DesiredState, ListenerProtocol, Pool};

use super::{
    maglev::{self, RingMember},
    rr,
    slots::{SlotTable, SlotsFull},
};

/// What the maps must hold for one desired state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub config: LbConfig,
    pub vips: HashMap<VipKey, VipInfo>,
    pub backends: BTreeMap<u32, Backend>,
    pub pools: BTreeMap<u32, PoolTables>,
    /// `LB_ACL` entries: (prefix length, key).
    pub acl: HashSet<(u32, AclKey)>,
    /// `LB_ADDRS` entries: every VIP and SNAT address.
    pub addrs: HashSet<AddrKey>,
}

fn addr_key(addr: IpAddr) -> AddrKey {
    let (addr, family) = map_addr(addr);
    AddrKey {
        addr,
        family,
        _pad: [0; 3],
    }
}

/// One pool's rows in the selection maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolTables {
    pub info: PoolInfo,
    /// Maglev row (`RING_SIZE` entries) for SOURCE_IP pools, empty otherwise.
    pub ring: Vec<u32>,
    pub rr: Vec<u32>,
    pub members: Vec<u32>,
}

/// Slot assignments that persist across applies.
#[derive(Clone, Debug)]
pub struct Planner {
    listeners: SlotTable,
    pools: SlotTable,
    backends: SlotTable,
}

impl Default for Planner {
    fn default() -> Self {
        Self {
            listeners: SlotTable::new("listeners", 0, MAX_LISTENERS),
            // Pool slot 0 stays empty: listeners without a default pool point at it.
            pools: SlotTable::new("pools", 1, MAX_POOLS),
            // Backend slot 0 means "none" in the kernel.
            backends: SlotTable::new("members", 1, MAX_BACKENDS),
        }
    }
}

/// 16-byte map form and family tag of an address.
#[must_use]
pub fn map_addr(addr: IpAddr) -> ([u8; 16], u8) {
    match addr {
        IpAddr::V4(a) => (v4(a.octets()), FAMILY_V4),
        IpAddr::V6(a) => (a.octets(), FAMILY_V6),
    }
}

impl Planner {
    /// Slot of a listener id in the counter maps.
    #[must_use]
    pub fn listener_slot(&self, id: &str) -> Option<u32> {
        self.listeners.get(id)
    }

    /// Slot of a member id in the counter maps.
    #[must_use]
    pub fn member_slot(&self, id: &str) -> Option<u32> {
        self.backends.get(id)
    }

    /// Computes the map contents for `state`, allocating slots. On error nothing of `self`
    /// should be kept (callers plan on a clone).
    pub fn plan(&mut self, state: &DesiredState, config_flags: u32) -> Result<Plan, SlotsFull> {
        let mut plan = Plan {
            config: snat_config(state, config_flags),
            ..Plan::default()
        };
        let (mut keep_l, mut keep_p, mut keep_b) = (HashSet::new(), HashSet::new(), HashSet::new());
        let snat = [
            state.snat.ipv4.map(IpAddr::V4),
            state.snat.ipv6.map(IpAddr::V6),
        ];
        plan.addrs.extend(snat.into_iter().flatten().map(addr_key));
        for lb in &state.loadbalancers {
            let mut pool_slots = HashMap::new();
            for pool in &lb.pools {
                keep_p.insert(pool.id.as_str());
                let slot = self.pools.get_or_alloc(&pool.id)?;
                pool_slots.insert(pool.id.as_str(), (slot, pool.lb_algorithm));
                let tables = self.pool_tables(pool, &mut plan.backends, &mut keep_b)?;
                plan.pools.insert(slot, tables);
            }
            let (addr, family) = map_addr(lb.vip_address);
            plan.addrs.insert(addr_key(lb.vip_address));
            // Listeners of the L7 proxy stay out of the kernel's tables: their packets find no
            // VIP entry and go to the stack, where the proxy's sockets take them.
            for l in lb.listeners.iter().filter(|l| !lb.proxied(l)) {
                keep_l.insert(l.id.as_str());
                let slot = self.listeners.get_or_alloc(&l.id)?;
                let (pool, algorithm) = l
                    .default_pool_id
                    .as_deref()
                    .and_then(|p| pool_slots.get(p).copied())
                    .unwrap_or((0, Algorithm::RoundRobin));
                let down = !lb.admin_state_up || !l.admin_state_up;
                for cidr in &l.allowed_cidrs {
                    // Validated before planning; an unparsable entry cannot get here.
                    if let Ok(net) = cidr.parse::<ipnet::IpNet>() {
                        let (net_addr, _) = map_addr(net.network());
                        plan.acl.insert((
                            ACL_LISTENER_BITS + u32::from(net.prefix_len()),
                            AclKey {
                                listener_be: slot.to_be(),
                                addr: net_addr,
                            },
                        ));
                    }
                }
                let mut flags = if down { VIP_F_DOWN } else { 0 };
                if !l.allowed_cidrs.is_empty() {
                    flags |= VIP_F_ACL;
                }
                let key = VipKey {
                    addr,
                    port: l.protocol_port.to_be(),
                    proto: if l.protocol == ListenerProtocol::Udp {
                        IPPROTO_UDP
                    } else {
                        IPPROTO_TCP
                    },
                    family,
                };
                let info = VipInfo {
                    listener: slot,
                    pool,
                    algorithm: kernel_algorithm(algorithm) as u32,
                    flags,
                    conn_limit: u32::try_from(l.connection_limit).unwrap_or(0),
                    idle_timeout_ms: l.timeout_client_data.max(l.timeout_member_data),
                };
                plan.vips.insert(key, info);
            }
        }
        self.listeners.retain(&keep_l);
        self.pools.retain(&keep_p);
        self.backends.retain(&keep_b);
        Ok(plan)
    }

    fn pool_tables<'a>(
        &mut self,
        pool: &'a Pool,
        backends: &mut BTreeMap<u32, Backend>,
        keep: &mut HashSet<&'a str>,
    ) -> Result<PoolTables, SlotsFull> {
        // (slot, weight, key) of members that may take new flows.
        let mut primary = Vec::new();
        let mut backup = Vec::new();
        for m in &pool.members {
            keep.insert(m.id.as_str());
            let slot = self.backends.get_or_alloc(&m.id)?;
            let (addr, family) = map_addr(m.address);
            backends.insert(
                slot,
                Backend {
                    addr,
                    port: m.protocol_port.to_be(),
                    family,
                    flags: BACKEND_F_VALID,
                },
            );
            if pool.admin_state_up && m.admin_state_up && m.weight > 0 {
                let entry = (slot, u32::from(m.weight), maglev::member_key(&m.id));
                if m.backup {
                    backup.push(entry)
                } else {
                    primary.push(entry)
                }
            }
        }
        // Backup members take new flows only when no primary member can.
        let mut eligible = if primary.is_empty() { backup } else { primary };
        eligible.truncate(MAX_POOL_MEMBERS as usize);
        let rr_table = rr::build(
            &eligible.iter().map(|&(s, w, _)| (s, w)).collect::<Vec<_>>(),
            RR_SIZE,
        );
        let ring = if matches!(
            pool.lb_algorithm,
            Algorithm::SourceIp | Algorithm::SourceIpPort
        ) && !eligible.is_empty()
        {
            let members: Vec<RingMember> = eligible
                .iter()
                .map(|&(value, weight, key)| RingMember { key, weight, value })
                .collect();
            maglev::build(&members, RING_SIZE)
        } else {
            Vec::new()
        };
        Ok(PoolTables {
            info: PoolInfo {
                rr_len: rr_table.len() as u32,
                members: eligible.len() as u32,
                ring_ready: u32::from(!ring.is_empty()),
                _pad: 0,
            },
            ring,
            rr: rr_table,
            members: eligible.iter().map(|&(s, _, _)| s).collect(),
        })
    }
}

fn kernel_algorithm(a: Algorithm) -> KAlgorithm {
    match a {
        Algorithm::RoundRobin => KAlgorithm::RoundRobin,
        Algorithm::LeastConnections => KAlgorithm::LeastConnections,
        Algorithm::SourceIp => KAlgorithm::SourceIp,
        Algorithm::SourceIpPort => KAlgorithm::SourceIpPort,
    }
}

fn snat_config(state: &DesiredState, flags: u32) -> LbConfig {
    let s = &state.snat;
    LbConfig {
        snat_v4: s.ipv4.map_or([0; 16], |a| v4(a.octets())),
        snat_v6: s.ipv6.map_or([0; 16], |a| a.octets()),
        snat_port_min: s.port_min,
        snat_port_count: s.port_max.saturating_sub(s.port_min).saturating_add(1),
        flags,
    }
}
