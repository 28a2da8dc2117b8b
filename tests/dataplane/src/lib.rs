//! Helpers shared by the data-plane fixture tests: loading the real object in fixture mode
//! with a desired state applied, reading translated frames back, and checking checksums.

use lb_agent::dataplane::{Dataplane, XdpVerdict};
use lb_common::{config::CFG_F_TX_AFTER_NAT, csum, drop::DropReason};
use lb_proto::DesiredState;

pub mod frames;

/// Transport offset and protocol of an untagged IPv6 frame, after hop-by-hop, routing and
/// destination-options headers.
#[must_use]
pub fn v6_l4(frame: &[u8]) -> (usize, u8) {
    let (mut off, mut next) = (54, frame[20]);
    while matches!(next, 0 | 43 | 60) {
        next = frame[off];
        off += (usize::from(frame[off + 1]) + 1) * 8;
    }
    (off, next)
}

/// Drop reasons exercised by the scenarios in `tests/nat.rs` (each scenario asserts its
/// counter); `tests/fixtures.rs` checks that together with its own table they cover them all.
pub const NAT_SCENARIO_REASONS: [DropReason; 11] = [
    DropReason::TruncatedL4,
    DropReason::NoBackend,
    DropReason::ConnLimit,
    DropReason::AdminDown,
    DropReason::SnatExhausted,
    DropReason::FibFailed,
    DropReason::UnknownFlow,
    DropReason::AclDenied,
    // tests/robust_parse.rs
    DropReason::Fragment,
    DropReason::Ipv6ExtHeaders,
    // tests/icmp.rs
    DropReason::TruncatedIcmp,
];

/// Loads the data plane, applies `state` (JSON) and, with `tx`, sets the fixture mode in which
/// translated packets come back as `XDP_TX` instead of being routed.
#[must_use]
pub fn dataplane(state: &serde_json::Value, tx: bool) -> Dataplane {
    let mut dp = Dataplane::load().expect("load and verify the embedded lb-ebpf object");
    if tx {
        dp.set_config_flags(CFG_F_TX_AFTER_NAT);
    }
    apply(&mut dp, state);
    dp
}

/// Applies a desired state given as JSON.
pub fn apply(dp: &mut Dataplane, state: &serde_json::Value) {
    let state = DesiredState::from_json(state.to_string().as_bytes()).expect("valid state");
    dp.apply(&state).expect("apply state");
}

/// Runs one frame; returns verdict and output frame.
pub fn run(dp: &mut Dataplane, frame: &[u8]) -> (XdpVerdict, Vec<u8>) {
    let out = dp.test_run(frame, 1).expect("BPF_PROG_TEST_RUN");
    (out.verdict, out.packet)
}

/// The addressing of an untagged IPv4/IPv6 TCP/UDP frame: (src, sport, dst, dport) with
/// addresses as text.
#[must_use]
pub fn tuple(frame: &[u8]) -> (String, u16, String, u16) {
    let (src, dst, l4) = match frame[12..14] {
        [0x08, 0x00] => {
            let ihl = usize::from(frame[14] & 0x0f) * 4;
            let a = |o: usize| {
                std::net::Ipv4Addr::new(frame[o], frame[o + 1], frame[o + 2], frame[o + 3])
            };
            (a(26).to_string(), a(30).to_string(), 14 + ihl)
        }
        [0x86, 0xdd] => {
            let a = |o: usize| {
                let b: [u8; 16] = frame[o..o + 16].try_into().expect("16 bytes");
                std::net::Ipv6Addr::from(b)
            };
            (a(22).to_string(), a(38).to_string(), v6_l4(frame).0)
        }
        _ => panic!("not IP: {:02x?}", &frame[12..14]),
    };
    let port = |o: usize| u16::from_be_bytes([frame[o], frame[o + 1]]);
    (src, port(l4), dst, port(l4 + 2))
}

/// Checks the IPv4 header checksum and the TCP/UDP checksum of an untagged frame.
pub fn assert_checksums(frame: &[u8]) {
    let (pseudo, l4_off, proto) = match frame[12..14] {
        [0x08, 0x00] => {
            let ihl = usize::from(frame[14] & 0x0f) * 4;
            assert_eq!(
                csum::full(&frame[14..14 + ihl], 0),
                0,
                "IPv4 header checksum"
            );
            let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
            let l4_len = total - ihl;
            let mut p = frame[26..34].to_vec();
            p.extend_from_slice(&[0, frame[23]]);
            p.extend_from_slice(&(l4_len as u16).to_be_bytes());
            (p, 14 + ihl, frame[23])
        }
        [0x86, 0xdd] => {
            let (l4_off, proto) = v6_l4(frame);
            let l4_len = frame.len() - l4_off;
            let mut p = frame[22..54].to_vec();
            p.extend_from_slice(&(l4_len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
            (p, l4_off, proto)
        }
        _ => panic!("not IP"),
    };
    if proto == 17 && frame[l4_off + 6..l4_off + 8] == [0, 0] {
        return; // UDP over IPv4 without checksum
    }
    let mut whole = pseudo;
    whole.extend_from_slice(&frame[l4_off..]);
    assert_eq!(
        csum::full(&whole, 0),
        0,
        "transport checksum of {:02x?}",
        frame
    );
}

/// A state with one load balancer (VIP 198.18.1.1 or fd00:1::1) and one pool; `members` are
/// `(id, address, weight)`, all on port 8080. `listener` fields are merged into the TCP:80
/// listener.
#[must_use]
pub fn one_lb(
    vip: &str,
    algorithm: &str,
    members: &[(&str, &str, u16)],
    listener: serde_json::Value,
) -> serde_json::Value {
    let members: Vec<serde_json::Value> = members
        .iter()
        .map(|(id, address, weight)| {
            serde_json::json!({"id": id, "address": address, "protocol_port": 8080, "weight": weight})
        })
        .collect();
    let mut l = serde_json::json!({
        "id": "l80", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "pool"
    });
    if let (Some(l), Some(extra)) = (l.as_object_mut(), listener.as_object()) {
        for (k, v) in extra {
            l.insert(k.clone(), v.clone());
        }
    }
    let udp = serde_json::json!({
        "id": "l53", "protocol": "UDP", "protocol_port": 53, "default_pool_id": "pool"
    });
    serde_json::json!({
        "version": 1,
        "generation": 1,
        "snat": {"ipv4": "198.18.2.1", "ipv6": "fd00:2::1", "port_min": 20000, "port_max": 20999},
        "loadbalancers": [{
            "id": "lb", "vip_address": vip,
            "listeners": [l, udp],
            "pools": [{"id": "pool", "lb_algorithm": algorithm, "members": members}]
        }]
    })
}
