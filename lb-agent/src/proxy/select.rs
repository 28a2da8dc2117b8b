//! Member choice for the proxy's pools, with the data plane's semantics: weighted round robin
//! (the kernel's smooth sequence), least connections (requests in flight, weighted), and
//! `SOURCE_IP`/`SOURCE_IP_PORT` through the same Maglev ring and hash as the kernel, so a
//! source reaches the same member at layer 4 and layer 7. Weight 0 and admin-down (or
//! health-down) members take nothing new; backup members only when no other member can, all
//! of them together (HAProxy's `option allbackups`, as Octavia configures it).
//!
//! Built once per pushed state; choosing is lock- and allocation-free (atomics only).

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use lb_common::{backend::RING_SIZE, hash::source_hash};
use lb_proto::{Algorithm, PoolProtocol};

use crate::dataplane::{maglev, plan::map_addr, rr};

use super::persist::Persistence;

/// One member as the proxy sees it.
pub struct MemberRt {
    pub id: Arc<str>,
    /// Stable number of this member id for the agent's lifetime (stickiness tables store it).
    pub serial: u32,
    pub addr: SocketAddr,
    /// `addr:port` as a URI authority, for requests to the member.
    pub authority: http::uri::Authority,
    pub weight: u16,
    pub backup: bool,
    /// Admin up, not failed by its health monitor, weight above 0, pool up.
    pub usable: bool,
    /// Requests (HTTP) or connections (TCP) in flight to it; shared across reconfigurations.
    pub inflight: Arc<AtomicU64>,
}

/// A pool ready to choose from.
pub struct PoolRt {
    pub id: Arc<str>,
    pub protocol: PoolProtocol,
    pub algorithm: Algorithm,
    pub members: Vec<MemberRt>,
    /// Indexes of the members new requests may go to (usable primaries, else usable backups).
    eligible: Vec<u32>,
    /// Weighted round-robin sequence of member indexes.
    rr: Vec<u32>,
    cursor: AtomicUsize,
    /// Maglev ring of member indexes (`SOURCE_IP`, `SOURCE_IP_PORT`), else empty.
    ring: Vec<u32>,
    pub persistence: Option<Persistence>,
    /// TLS to the members (an HTTP pool with `tls_enabled`), else plain HTTP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Holds a member's in-flight count up while it lives.
pub struct InFlight(Arc<AtomicU64>);

impl InFlight {
    #[must_use]
    pub fn new(counter: &Arc<AtomicU64>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PoolRt {
    /// A pool over `members`; `cursor_start` lets a rebuilt pool continue a sequence.
    #[must_use]
    pub fn new(
        id: &str,
        protocol: PoolProtocol,
        algorithm: Algorithm,
        members: Vec<MemberRt>,
        persistence: Option<Persistence>,
    ) -> Self {
        let usable = |backup: bool| -> Vec<u32> {
            members
                .iter()
                .enumerate()
                .filter(|(_, m)| m.usable && m.backup == backup)
                .filter_map(|(i, _)| u32::try_from(i).ok())
                .collect()
        };
        let primary = usable(false);
        let eligible = if primary.is_empty() {
            usable(true)
        } else {
            primary
        };
        let weights: Vec<(u32, u32)> = eligible
            .iter()
            .map(|&i| (i, u32::from(members[i as usize].weight)))
            .collect();
        let rr = rr::build(&weights, lb_common::backend::RR_SIZE);
        let ring = if matches!(algorithm, Algorithm::SourceIp | Algorithm::SourceIpPort)
            && !eligible.is_empty()
        {
            let ring_members: Vec<maglev::RingMember> = eligible
                .iter()
                .map(|&i| maglev::RingMember {
                    key: maglev::member_key(&members[i as usize].id),
                    weight: u32::from(members[i as usize].weight),
                    value: i,
                })
                .collect();
            maglev::build(&ring_members, RING_SIZE)
        } else {
            Vec::new()
        };
        Self {
            id: id.into(),
            protocol,
            algorithm,
            members,
            eligible,
            rr,
            cursor: AtomicUsize::new(0),
            ring,
            persistence,
            tls: None,
        }
    }

    /// Whether any member can take a new request.
    #[must_use]
    pub fn has_eligible(&self) -> bool {
        !self.eligible.is_empty()
    }

    /// The member for a new request from `client`, other than `avoid` when another exists.
    #[must_use]
    pub fn choose(&self, client: SocketAddr, avoid: Option<usize>) -> Option<usize> {
        if self.eligible.is_empty() {
            return None;
        }
        let avoid = avoid.filter(|_| self.eligible.len() > 1);
        let pick = match self.algorithm {
            Algorithm::SourceIp | Algorithm::SourceIpPort if !self.ring.is_empty() => {
                let (addr, _) = map_addr(client.ip());
                let port = if self.algorithm == Algorithm::SourceIpPort {
                    client.port().to_be()
                } else {
                    0
                };
                let slot = source_hash(&addr, port) % RING_SIZE;
                self.ring.get(slot as usize).map(|&i| i as usize)
            }
            Algorithm::LeastConnections => self.least_loaded(avoid),
            _ => self.next_in_sequence(avoid),
        };
        match pick {
            Some(i) if Some(i) == avoid => self.next_in_sequence(avoid),
            other => other,
        }
    }

    fn next_in_sequence(&self, avoid: Option<usize>) -> Option<usize> {
        let len = self.rr.len();
        for _ in 0..len {
            let at = self.cursor.fetch_add(1, Ordering::Relaxed) % len;
            let i = self.rr[at] as usize;
            if Some(i) != avoid {
                return Some(i);
            }
        }
        None
    }

    /// The eligible member with the fewest requests in flight per unit of weight (ties: the
    /// first in round-robin order from a moving start, so ties spread).
    fn least_loaded(&self, avoid: Option<usize>) -> Option<usize> {
        let n = self.eligible.len();
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(u64, usize)> = None;
        for k in 0..n {
            let i = self.eligible[(start + k) % n] as usize;
            if Some(i) == avoid {
                continue;
            }
            let m = &self.members[i];
            let load = (m.inflight.load(Ordering::Relaxed) + 1) * 256 / u64::from(m.weight.max(1));
            if best.is_none_or(|(b, _)| load < b) {
                best = Some((load, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// The index of the member with `serial` if it may take requests (persistence).
    #[must_use]
    pub fn usable_serial(&self, serial: u32) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.serial == serial)
            .filter(|&i| self.members[i].usable)
    }

    /// The index of the usable member with `id` (the HTTP_COOKIE cookie names it).
    #[must_use]
    pub fn usable_id(&self, id: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| &*m.id == id)
            .filter(|&i| self.members[i].usable)
    }
}

/// `addr` masked by `mask` (same family), for `persistence_granularity`.
#[must_use]
pub fn masked(addr: IpAddr, mask: Option<IpAddr>) -> IpAddr {
    match (addr, mask) {
        (IpAddr::V4(a), Some(IpAddr::V4(m))) => IpAddr::V4((a.to_bits() & m.to_bits()).into()),
        (IpAddr::V6(a), Some(IpAddr::V6(m))) => IpAddr::V6((a.to_bits() & m.to_bits()).into()),
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn member(i: u32, weight: u16, backup: bool, usable: bool) -> MemberRt {
        let addr: SocketAddr = format!("198.18.1.{}:80", 11 + i).parse().unwrap();
        MemberRt {
            id: format!("m{i}").into(),
            serial: i + 1,
            addr,
            authority: addr.to_string().parse().unwrap(),
            weight,
            backup,
            usable: usable && weight > 0,
            inflight: Arc::new(AtomicU64::new(0)),
        }
    }

    fn client(i: u32) -> SocketAddr {
        SocketAddr::new(
            IpAddr::V4((0x0a00_0000 + i).into()),
            40_000 + (i % 1000) as u16,
        )
    }

    fn tally(pool: &PoolRt, n: u32) -> BTreeMap<usize, u32> {
        let mut t = BTreeMap::new();
        for i in 0..n {
            *t.entry(pool.choose(client(i), None).unwrap()).or_default() += 1;
        }
        t
    }

    #[test]
    fn round_robin_follows_weights_and_skips_drained_and_down_members() {
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            vec![
                member(0, 1, false, true),
                member(1, 3, false, true),
                member(2, 0, false, true),
                member(3, 5, false, false),
            ],
            None,
        );
        assert_eq!(tally(&pool, 400), BTreeMap::from([(0, 100), (1, 300)]));
    }

    #[test]
    fn backups_take_requests_only_when_no_primary_can_and_then_all_of_them() {
        let mut members = vec![
            member(0, 1, false, true),
            member(1, 1, true, true),
            member(2, 1, true, true),
        ];
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            members,
            None,
        );
        assert_eq!(tally(&pool, 10), BTreeMap::from([(0, 10)]));
        members = vec![
            member(0, 1, false, false),
            member(1, 1, true, true),
            member(2, 1, true, true),
        ];
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            members,
            None,
        );
        assert_eq!(tally(&pool, 10), BTreeMap::from([(1, 5), (2, 5)]));
    }

    #[test]
    fn least_connections_prefers_the_member_with_fewer_requests_in_flight() {
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::LeastConnections,
            vec![member(0, 1, false, true), member(1, 1, false, true)],
            None,
        );
        let _busy = [
            InFlight::new(&pool.members[0].inflight),
            InFlight::new(&pool.members[0].inflight),
        ];
        assert_eq!(tally(&pool, 5), BTreeMap::from([(1, 5)]));
        drop(_busy);
        assert_eq!(pool.members[0].inflight.load(Ordering::Relaxed), 0);
        assert_eq!(tally(&pool, 10).len(), 2, "ties spread");
    }

    #[test]
    fn source_ip_uses_the_kernels_ring_and_hash() {
        let members = || {
            vec![
                member(0, 1, false, true),
                member(1, 1, false, true),
                member(2, 2, false, true),
            ]
        };
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::SourceIp,
            members(),
            None,
        );
        // The kernel's ring for the same members (values: backend slots 10, 11, 12).
        let ring = maglev::build(
            &members()
                .iter()
                .enumerate()
                .map(|(i, m)| maglev::RingMember {
                    key: maglev::member_key(&m.id),
                    weight: u32::from(m.weight),
                    value: 10 + i as u32,
                })
                .collect::<Vec<_>>(),
            RING_SIZE,
        );
        for i in 0..200 {
            let c = client(i);
            let (addr, _) = map_addr(c.ip());
            let kernel = ring[(source_hash(&addr, 0) % RING_SIZE) as usize] - 10;
            assert_eq!(pool.choose(c, None), Some(kernel as usize));
            let other_port = SocketAddr::new(c.ip(), c.port().wrapping_add(1));
            assert_eq!(
                pool.choose(other_port, None),
                Some(kernel as usize),
                "port ignored"
            );
        }
    }

    #[test]
    fn avoid_picks_another_member_when_there_is_one() {
        let pool = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::SourceIp,
            vec![member(0, 1, false, true), member(1, 1, false, true)],
            None,
        );
        for i in 0..50 {
            let first = pool.choose(client(i), None).unwrap();
            assert_ne!(pool.choose(client(i), Some(first)), Some(first));
        }
        let single = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            vec![member(0, 1, false, true)],
            None,
        );
        assert_eq!(
            single.choose(client(1), Some(0)),
            Some(0),
            "the only member is still used"
        );
        let none = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            vec![member(0, 1, false, false)],
            None,
        );
        assert_eq!(none.choose(client(1), None), None);
    }

    #[test]
    fn granularity_masks_the_source() {
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            masked(a, Some("255.255.255.0".parse().unwrap())),
            "10.1.2.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(masked(a, None), a);
    }
}
