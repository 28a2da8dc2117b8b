//! The flow cache (the fast path for established IPv4 flows, `lb-ebpf/src/fast.rs`):
//! through the real object with BPF_PROG_TEST_RUN. Cached packets must come out exactly as the
//! full path translates them and be counted the same; a flow that is replaced, or deleted by
//! the agent, must never be served from a cache entry filled before.

use lb_agent::dataplane::{Dataplane, XdpVerdict, gc::monotonic_ns};
use lb_common::{
    drop::DropReason,
    flow_cache::{self, CACHED_F_REPLY, CachedFlow, CachedFlow6},
    stats::PacketClass,
};
use lb_dataplane_tests::{
    assert_checksums, dataplane,
    frames::{fix_l4_v4, tcp_v6},
    one_lb, run, tuple,
};
use lb_testkit::{
    packet::{ipv4_tcp, ipv4_udp, ipv6_udp},
    require_root,
};
use serde_json::json;

const VIP: [u8; 4] = [198, 18, 1, 1];
const SNAT: [u8; 4] = [198, 18, 2, 1];
const CLIENT: [u8; 4] = [198, 18, 0, 10];
const TCP_FIN_ACK: u8 = 0x11;

/// Two members taken in turn, so that a flow opened again goes to the other one.
fn round_robin() -> Dataplane {
    dataplane(
        &one_lb(
            "198.18.1.1",
            "ROUND_ROBIN",
            &[("a", "198.18.2.11", 1), ("b", "198.18.2.12", 1)],
            json!({}),
        ),
        true,
    )
}

fn segment(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = ipv4_tcp(src, dst, sport, dport, false, b"data");
    f[14 + 20 + 13] = flags;
    fix_l4_v4(&mut f);
    f
}

fn octets(addr: &str) -> [u8; 4] {
    addr.parse::<std::net::Ipv4Addr>().expect("IPv4").octets()
}

/// SYN and the client's ACK; returns the translation (SNAT address, port, member, port).
fn connect(dp: &mut Dataplane, port: u16) -> (String, u16, String, u16) {
    let (verdict, syn) = run(dp, &ipv4_tcp(CLIENT, VIP, port, 80, true, &[]));
    assert_eq!(verdict, XdpVerdict::Tx);
    let (verdict, ack) = run(dp, &segment(CLIENT, VIP, port, 80, 0x10));
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_eq!(tuple(&ack), tuple(&syn));
    tuple(&ack)
}

/// Opens a flow and sends three more client packets, so that it is in the flow cache;
/// returns its translation.
fn connect_and_cache(dp: &mut Dataplane, port: u16) -> (String, u16, String, u16) {
    let flow = connect(dp, port);
    for _ in 0..3 {
        let (verdict, out) = run(dp, &segment(CLIENT, VIP, port, 80, 0x18));
        assert_eq!((verdict, tuple(&out)), (XdpVerdict::Tx, flow.clone()));
    }
    assert!(!cached(dp, CLIENT, port).is_empty(), "the flow was cached");
    flow
}

/// Cached entries of the flow direction that arrives as `src:sport`.
fn cached(dp: &Dataplane, src: [u8; 4], sport: u16) -> Vec<CachedFlow> {
    dp.cached_flows()
        .expect("read the flow cache")
        .into_iter()
        .filter(|e| {
            e.saddr == u32::from_ne_bytes(src) && e.ports.to_ne_bytes()[..2] == sport.to_be_bytes()
        })
        .collect()
}

#[test]
fn cached_packets_are_translated_and_counted_like_the_full_path() {
    require_root!();
    let mut dp = round_robin();
    let (snat, snat_port, member, member_port) = connect(&mut dp, 40000);
    let member = octets(&member);
    let want_out = (snat.clone(), snat_port, member_str(member), member_port);
    let want_back = ("198.18.1.1".to_owned(), 80, "198.18.0.10".to_owned(), 40000);
    let before = dp.listener_stats("l80").unwrap().unwrap().traffic;
    let mut bytes = (0u64, 0u64);
    // Ten packets each way: the first of each direction fills the cache, the rest hit it.
    for i in 0..10u8 {
        let out = segment(CLIENT, VIP, 40000, 80, 0x18);
        let (verdict, translated) = run(&mut dp, &out);
        assert_eq!(verdict, XdpVerdict::Tx, "client packet {i}");
        assert_eq!(tuple(&translated), want_out, "client packet {i}");
        assert_checksums(&translated);
        bytes.0 += out.len() as u64;
        let back = segment(member, SNAT, member_port, snat_port, 0x18);
        let (verdict, translated) = run(&mut dp, &back);
        assert_eq!(verdict, XdpVerdict::Tx, "member packet {i}");
        assert_eq!(tuple(&translated), want_back, "member packet {i}");
        assert_checksums(&translated);
        bytes.1 += back.len() as u64;
    }
    // Both directions are in the cache (so most of those packets came from it).
    let client_side = cached(&dp, CLIENT, 40000);
    let member_side = cached(&dp, member, member_port);
    assert!(!client_side.is_empty() && !member_side.is_empty());
    assert!(client_side.iter().all(|e| e.flags & CACHED_F_REPLY == 0));
    assert!(member_side.iter().all(|e| e.flags & CACHED_F_REPLY != 0));
    let after = dp.listener_stats("l80").unwrap().unwrap().traffic;
    assert_eq!(
        (
            after.packets_in - before.packets_in,
            after.bytes_in - before.bytes_in,
            after.packets_out - before.packets_out,
            after.bytes_out - before.bytes_out
        ),
        (10, bytes.0, 10, bytes.1),
        "listener counters"
    );
    let forwarded = dp.counters().unwrap().class(PacketClass::Forwarded).packets;
    assert_eq!(forwarded, 2 + 20, "SYN, ACK and the twenty packets");
}

fn member_str(member: [u8; 4]) -> String {
    std::net::Ipv4Addr::from(member).to_string()
}

#[test]
fn cached_udp_keeps_a_zero_checksum_and_fixes_a_nonzero_one() {
    require_root!();
    let mut dp = round_robin();
    let mut first = None;
    for i in 0..6u16 {
        let mut datagram = ipv4_udp(CLIENT, VIP, 5353, 53, b"query with payload");
        if i % 2 == 1 {
            // No checksum (allowed over IPv4): must stay without one.
            datagram[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
        }
        let (verdict, out) = run(&mut dp, &datagram);
        assert_eq!(verdict, XdpVerdict::Tx, "datagram {i}");
        let t = tuple(&out);
        assert_eq!(*first.get_or_insert_with(|| t.clone()), t, "datagram {i}");
        if i % 2 == 1 {
            assert_eq!(out[14 + 20 + 6..14 + 20 + 8], [0, 0], "datagram {i}");
        }
        assert_checksums(&out);
        if i == 0 {
            // The member answers: the flow is established (UDP flows are promoted then).
            let (snat_port, member) = (t.1, octets(&t.2));
            let answer = ipv4_udp(member, SNAT, 8080, snat_port, b"answer");
            assert_eq!(run(&mut dp, &answer).0, XdpVerdict::Tx);
        }
    }
    assert!(!cached(&dp, CLIENT, 5353).is_empty(), "the flow was cached");
}

#[test]
fn a_flow_opened_again_on_the_same_port_is_not_served_from_the_cache() {
    require_root!();
    // Round-robin cursors and caches are per CPU: both connections must see the same ones.
    stay_on_one_cpu();
    let mut dp = round_robin();
    let first = connect_and_cache(&mut dp, 41000);
    let member = octets(&first.2);
    let fin = segment(CLIENT, VIP, 41000, 80, TCP_FIN_ACK);
    assert_eq!(run(&mut dp, &fin).0, XdpVerdict::Tx);
    let fin_back = segment(member, SNAT, 8080, first.1, TCP_FIN_ACK);
    assert_eq!(run(&mut dp, &fin_back).0, XdpVerdict::Tx);

    // Same 5-tuple again (TIME_WAIT reuse): round robin picks the other member, and every
    // packet of the new flow goes there, none to the old one through a stale cache entry.
    let second = connect(&mut dp, 41000);
    assert_ne!(second.2, first.2, "round robin moves to the other member");
    for i in 0..3 {
        let (verdict, out) = run(&mut dp, &segment(CLIENT, VIP, 41000, 80, 0x18));
        assert_eq!(verdict, XdpVerdict::Tx);
        assert_eq!(tuple(&out), second, "packet {i} of the new flow");
    }
    // The old flow's reply direction is gone too: its member's late packets are not ours.
    let late = segment(member, SNAT, 8080, first.1, 0x18);
    let (verdict, out) = run(&mut dp, &late);
    assert_ne!(verdict, XdpVerdict::Tx, "late packet {:?}", tuple(&out));
}

#[test]
fn flows_the_agent_deletes_are_not_served_from_the_cache() {
    require_root!();
    let mut dp = round_robin();
    connect_and_cache(&mut dp, 42000);
    // The collector, an hour later: the flow is idle and goes.
    collect_then_drop(&mut dp, 2, &segment(CLIENT, VIP, 42000, 80, 0x18));
}

/// The collector runs an hour later and removes at least `flows` entries; then `packet`, of
/// one of those flows, must be dropped as `unknown_flow` (no cached entry serves it).
fn collect_then_drop(dp: &mut Dataplane, flows: usize, packet: &[u8]) {
    let report = dp
        .collect_flows(monotonic_ns() + 3_600_000_000_000)
        .expect("collect");
    assert!(report.removed >= flows, "{report:?}");
    let unknown = |dp: &Dataplane| {
        dp.counters()
            .expect("counters")
            .dropped(DropReason::UnknownFlow)
            .packets
    };
    let before = unknown(dp);
    let (verdict, _) = run(dp, packet);
    assert_eq!(verdict, XdpVerdict::Drop, "a packet of a deleted flow");
    assert_eq!(unknown(dp), before + 1);
}

/// Keeps the calling thread on one CPU (each CPU has its own part of the cache).
fn stay_on_one_cpu() {
    let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = me
        .file_name()
        .and_then(|n| n.to_str())
        .expect("thread id")
        .to_owned();
    let cpu = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| s.split(['-', ',']).next().map(|c| c.trim().to_owned()))
        .expect("an online CPU");
    let out = std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu, &tid])
        .output()
        .expect("taskset");
    assert!(out.status.success(), "taskset: {out:?}");
}

#[test]
fn a_flow_whose_set_is_full_is_cached_in_the_neighbouring_set() {
    require_root!();
    stay_on_one_cpu();
    // Five client ports whose flows hash to the same set (two ways; its neighbour has two).
    let ports_word = |sport: u16| {
        let (s, d) = (sport.to_be_bytes(), 80u16.to_be_bytes());
        u32::from_ne_bytes([s[0], s[1], d[0], d[1]])
    };
    let set = |sport: u16| {
        flow_cache::set_of(flow_cache::hash(
            u32::from_ne_bytes(CLIENT),
            u32::from_ne_bytes(VIP),
            ports_word(sport),
        ))
    };
    let mut by_set = std::collections::BTreeMap::<u32, Vec<u16>>::new();
    for p in 1024..u16::MAX {
        by_set.entry(set(p)).or_default().push(p);
    }
    let mut ports = by_set
        .into_values()
        .find(|ports| ports.len() >= 5)
        .expect("five ports sharing a set");
    ports.truncate(5);
    // Entries stay fresh for FLOW_CACHE_JIFFIES (256 ms at HZ=250): a stall of the machine
    // between the first flow and the fifth would leave a stale way for the fifth. Such an
    // attempt proves nothing either way and is repeated (a missing neighbouring set fails
    // every attempt: only two of the five would be cached).
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let mut dp = round_robin();
        let flows: Vec<_> = ports.iter().map(|&p| connect(&mut dp, p)).collect();
        for (&p, flow) in ports.iter().zip(&flows) {
            for _ in 0..2 {
                let (verdict, out) = run(&mut dp, &segment(CLIENT, VIP, p, 80, 0x18));
                assert_eq!((verdict, &tuple(&out)), (XdpVerdict::Tx, flow), "port {p}");
            }
        }
        // Four fit, two in their own set and two in the neighbouring one; the fifth finds
        // all four ways fresh with other flows and takes the full path (translated all the
        // same, checked above).
        let outcome: Vec<usize> = ports
            .iter()
            .map(|&p| cached(&dp, CLIENT, p).len())
            .collect();
        if outcome == [1, 1, 1, 1, 0] {
            return;
        }
        outcomes.push(outcome);
    }
    panic!("cached entries per flow (want 1, 1, 1, 1, 0): {outcomes:?}");
}

fn v6(addr: &str) -> [u8; 16] {
    addr.parse::<std::net::Ipv6Addr>().expect("IPv6").octets()
}

/// Cached IPv6 entries of the flow direction that arrives from `src`.
fn cached6(dp: &Dataplane, src: [u8; 16]) -> Vec<CachedFlow6> {
    let words: Vec<u32> = src
        .chunks(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    dp.cached_flows6()
        .expect("read the IPv6 flow cache")
        .into_iter()
        .filter(|e| e.saddr[..] == words[..])
        .collect()
}

#[test]
fn cached_ipv6_packets_are_translated_like_the_full_path_until_the_flow_goes() {
    require_root!();
    let state = one_lb(
        "fd00:1::1",
        "ROUND_ROBIN",
        &[("m6", "fd00:2::11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);
    let (client, vip, snat, member) = (
        v6("fd00::10"),
        v6("fd00:1::1"),
        v6("fd00:2::1"),
        v6("fd00:2::11"),
    );
    assert_eq!(
        run(&mut dp, &tcp_v6(client, vip, 40000, 80, 0x02)).0,
        XdpVerdict::Tx
    );
    let (verdict, ack) = run(&mut dp, &tcp_v6(client, vip, 40000, 80, 0x10));
    assert_eq!(verdict, XdpVerdict::Tx);
    let out_tuple = tuple(&ack);
    assert_eq!(
        (out_tuple.0.as_str(), out_tuple.2.as_str(), out_tuple.3),
        ("fd00:2::1", "fd00:2::11", 8080)
    );
    let snat_port = out_tuple.1;
    let back_tuple = ("fd00:1::1".to_owned(), 80, "fd00::10".to_owned(), 40000);
    let before = dp.listener_stats("l80").unwrap().unwrap().traffic;
    for i in 0..10 {
        let (verdict, out) = run(&mut dp, &tcp_v6(client, vip, 40000, 80, 0x18));
        assert_eq!(
            (verdict, tuple(&out)),
            (XdpVerdict::Tx, out_tuple.clone()),
            "{i}"
        );
        assert_checksums(&out);
        let (verdict, back) = run(&mut dp, &tcp_v6(member, snat, 8080, snat_port, 0x18));
        assert_eq!(
            (verdict, tuple(&back)),
            (XdpVerdict::Tx, back_tuple.clone()),
            "{i}"
        );
        assert_checksums(&back);
    }
    // Both directions are in the IPv6 cache, so most of those packets came from it.
    assert!(
        cached6(&dp, client)
            .iter()
            .all(|e| e.flags & CACHED_F_REPLY == 0)
    );
    assert!(
        cached6(&dp, member)
            .iter()
            .all(|e| e.flags & CACHED_F_REPLY != 0)
    );
    assert!(!cached6(&dp, client).is_empty() && !cached6(&dp, member).is_empty());
    let after = dp.listener_stats("l80").unwrap().unwrap().traffic;
    assert_eq!(
        (
            after.packets_in - before.packets_in,
            after.packets_out - before.packets_out
        ),
        (10, 10),
        "listener counters"
    );

    // UDP over IPv6: the checksum is mandatory, and stays right from the cache.
    let query = ipv6_udp(client, vip, 5353, 53, b"query with payload");
    let (verdict, out) = run(&mut dp, &query);
    assert_eq!(verdict, XdpVerdict::Tx);
    let udp_port = tuple(&out).1;
    let answer = ipv6_udp(member, snat, 8080, udp_port, b"answer");
    assert_eq!(run(&mut dp, &answer).0, XdpVerdict::Tx);
    for i in 0..4 {
        let (verdict, out) = run(&mut dp, &query);
        assert_eq!(verdict, XdpVerdict::Tx, "datagram {i}");
        assert_eq!(tuple(&out).1, udp_port, "datagram {i}");
        assert_checksums(&out);
    }

    // The collector, an hour later: the flows go, and no cached entry serves their packets.
    collect_then_drop(&mut dp, 4, &tcp_v6(client, vip, 40000, 80, 0x18));
}

#[test]
fn an_ipv6_flow_opened_again_on_the_same_port_is_not_served_from_the_cache() {
    require_root!();
    stay_on_one_cpu();
    let state = one_lb(
        "fd00:1::1",
        "ROUND_ROBIN",
        &[("a", "fd00:2::11", 1), ("b", "fd00:2::12", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);
    let (client, vip, snat) = (v6("fd00::10"), v6("fd00:1::1"), v6("fd00:2::1"));
    // Handshake and three packets (the flow gets cached); returns the translation.
    let open = |dp: &mut Dataplane| {
        assert_eq!(
            run(dp, &tcp_v6(client, vip, 41000, 80, 0x02)).0,
            XdpVerdict::Tx
        );
        let (verdict, ack) = run(dp, &tcp_v6(client, vip, 41000, 80, 0x10));
        assert_eq!(verdict, XdpVerdict::Tx);
        for _ in 0..3 {
            let (verdict, out) = run(dp, &tcp_v6(client, vip, 41000, 80, 0x18));
            assert_eq!((verdict, tuple(&out)), (XdpVerdict::Tx, tuple(&ack)));
        }
        tuple(&ack)
    };
    let first = open(&mut dp);
    assert!(!cached6(&dp, client).is_empty(), "the flow was cached");
    let member = v6(&first.2);
    let fin = tcp_v6(client, vip, 41000, 80, TCP_FIN_ACK);
    assert_eq!(run(&mut dp, &fin).0, XdpVerdict::Tx);
    let fin_back = tcp_v6(member, snat, 8080, first.1, TCP_FIN_ACK);
    assert_eq!(run(&mut dp, &fin_back).0, XdpVerdict::Tx);
    // Same 5-tuple again: the other member, and none of its packets to the old one.
    let second = open(&mut dp);
    assert_ne!(second.2, first.2, "round robin moves to the other member");
}
