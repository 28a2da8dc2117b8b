//! Balancing through the real object with BPF_PROG_TEST_RUN, in fixture mode (translated
//! packets come back as XDP_TX): full NAT both ways with valid checksums, member choice, flow
//! state, and each reason a new flow can be refused for.

use lb_agent::dataplane::XdpVerdict;
use lb_common::drop::DropReason;
use lb_dataplane_tests::{apply, assert_checksums, dataplane, one_lb, run, tuple};
use lb_testkit::{
    packet::{CLIENT_MAC, LB_MAC, ipv4_tcp, ipv4_udp},
    require_root,
};
use serde_json::json;

const VIP: [u8; 4] = [198, 18, 1, 1];
const SNAT: &str = "198.18.2.1";

fn client(i: u8) -> [u8; 4] {
    [198, 18, 0, i]
}

fn tcp_v6(src: &str, dst: &str, sport: u16, dport: u16, syn: bool) -> Vec<u8> {
    let s: std::net::Ipv6Addr = src.parse().expect("IPv6 source");
    let d: std::net::Ipv6Addr = dst.parse().expect("IPv6 destination");
    tcp_v6_frame(s.octets(), d.octets(), sport, dport, syn)
}

/// IPv6 TCP frame built by hand (the harness's builders cover IPv6 UDP only).
fn tcp_v6_frame(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, syn: bool) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&LB_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, 6, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = if syn { 0x02 } else { 0x10 };
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let mut pseudo = src.to_vec();
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&20u32.to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 6]);
    pseudo.extend_from_slice(&tcp);
    let c = lb_common::csum::full(&pseudo, 0);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&tcp);
    f
}

fn drops(dp: &lb_agent::dataplane::Dataplane, reason: DropReason) -> u64 {
    dp.counters().expect("counters").dropped(reason).packets
}

#[test]
fn tcp_flow_is_translated_both_ways_with_valid_checksums() {
    require_root!();
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);

    let syn = ipv4_tcp(client(10), VIP, 40000, 80, true, &[]);
    let (verdict, out) = run(&mut dp, &syn);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&out);
    let (src, sport, dst, dport) = tuple(&out);
    assert_eq!(
        (src.as_str(), dst.as_str(), dport),
        (SNAT, "198.18.2.11", 8080)
    );
    assert!(
        (20000..=20999).contains(&sport),
        "SNAT port {sport} outside the range"
    );

    // Data of the same flow reuses the translation.
    let data = ipv4_tcp(client(10), VIP, 40000, 80, false, b"GET / HTTP/1.0\r\n\r\n");
    let (verdict, out2) = run(&mut dp, &data);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&out2);
    assert_eq!(tuple(&out2), tuple(&out));

    // The member's reply is translated back to VIP → client.
    let reply = ipv4_tcp(
        [198, 18, 2, 11],
        [198, 18, 2, 1],
        8080,
        sport,
        false,
        b"HTTP/1.0 200 OK",
    );
    let (verdict, back) = run(&mut dp, &reply);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&back);
    assert_eq!(
        tuple(&back),
        ("198.18.1.1".into(), 80, "198.18.0.10".into(), 40000)
    );

    let l = dp.listener_stats("l80").unwrap().unwrap();
    assert_eq!(
        (
            l.traffic.opened,
            l.active,
            l.traffic.packets_in,
            l.traffic.packets_out
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(l.traffic.bytes_out, reply.len() as u64);

    // FIN closes the flow once, from either side.
    let mut fin = ipv4_tcp([198, 18, 2, 11], [198, 18, 2, 1], 8080, sport, false, &[]);
    fin[14 + 20 + 13] |= 0x01;
    fix_tcp_v4(&mut fin);
    assert_eq!(run(&mut dp, &fin).0, XdpVerdict::Tx);
    let mut fin2 = ipv4_tcp(client(10), VIP, 40000, 80, false, &[]);
    fin2[14 + 20 + 13] |= 0x01;
    fix_tcp_v4(&mut fin2);
    assert_eq!(run(&mut dp, &fin2).0, XdpVerdict::Tx);
    let l = dp.listener_stats("l80").unwrap().unwrap();
    assert_eq!((l.active, l.traffic.closed), (0, 1));
    let m = dp.member_stats("m1").unwrap().unwrap();
    assert_eq!(m.active, 0);
}

/// Recomputes the TCP checksum of an IPv4 frame after a flag edit.
fn fix_tcp_v4(f: &mut [u8]) {
    f[50] = 0;
    f[51] = 0;
    let mut p = f[26..34].to_vec();
    p.extend_from_slice(&[0, 6]);
    p.extend_from_slice(&((f.len() - 34) as u16).to_be_bytes());
    p.extend_from_slice(&f[34..]);
    let c = lb_common::csum::full(&p, 0);
    f[50..52].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn udp_and_ipv6_are_translated() {
    require_root!();
    let state = one_lb(
        "198.18.1.1",
        "SOURCE_IP",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);
    let q = ipv4_udp(client(10), VIP, 5353, 53, b"query");
    let (verdict, out) = run(&mut dp, &q);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&out);
    let (src, _, dst, dport) = tuple(&out);
    assert_eq!(
        (src.as_str(), dst.as_str(), dport),
        (SNAT, "198.18.2.11", 8080)
    );

    let state6 = one_lb(
        "fd00:1::1",
        "ROUND_ROBIN",
        &[("m6", "fd00:2::11", 1)],
        json!({}),
    );
    let mut dp6 = dataplane(&state6, true);
    let syn = tcp_v6("fd00::10", "fd00:1::1", 40000, 80, true);
    let (verdict, out) = run(&mut dp6, &syn);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&out);
    let (src, sport, dst, dport) = tuple(&out);
    assert_eq!(
        (src.as_str(), dst.as_str(), dport),
        ("fd00:2::1", "fd00:2::11", 8080)
    );
    let reply = tcp_v6("fd00:2::11", "fd00:2::1", 8080, sport, false);
    let (verdict, back) = run(&mut dp6, &reply);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_checksums(&back);
    assert_eq!(
        tuple(&back),
        ("fd00:1::1".into(), 80, "fd00::10".into(), 40000)
    );
}

#[test]
fn non_vip_traffic_is_passed_untouched() {
    require_root!();
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);
    for frame in [
        ipv4_tcp(client(10), [198, 18, 1, 2], 40000, 80, true, &[]),
        ipv4_tcp(client(10), VIP, 40000, 81, true, &[]),
        ipv4_udp(client(10), VIP, 5353, 54, b"x"),
    ] {
        let (verdict, out) = run(&mut dp, &frame);
        assert_eq!(verdict, XdpVerdict::Pass);
        assert_eq!(out, frame);
    }
}

#[test]
fn round_robin_follows_weights_exactly_over_a_cycle() {
    require_root!();
    let members = [
        ("a", "198.18.2.11", 1),
        ("b", "198.18.2.12", 2),
        ("c", "198.18.2.13", 3),
    ];
    let state = one_lb("198.18.1.1", "ROUND_ROBIN", &members, json!({}));
    let mut dp = dataplane(&state, true);
    let mut counts = std::collections::HashMap::new();
    for i in 0..60u16 {
        let (verdict, out) = run(
            &mut dp,
            &ipv4_tcp(client(10), VIP, 30000 + i, 80, true, &[]),
        );
        assert_eq!(verdict, XdpVerdict::Tx);
        *counts.entry(tuple(&out).2).or_insert(0) += 1;
    }
    // BPF_PROG_TEST_RUN runs on one CPU, so one cursor walks the table: exact proportions.
    assert_eq!(counts["198.18.2.11"], 10);
    assert_eq!(counts["198.18.2.12"], 20);
    assert_eq!(counts["198.18.2.13"], 30);
}

#[test]
fn source_ip_keeps_a_client_on_one_member_and_weight_zero_drains() {
    require_root!();
    let members = [
        ("a", "198.18.2.11", 1),
        ("b", "198.18.2.12", 1),
        ("c", "198.18.2.13", 1),
    ];
    let state = one_lb("198.18.1.1", "SOURCE_IP", &members, json!({}));
    let mut dp = dataplane(&state, true);
    let member_of = |dp: &mut _, c: u8, port: u16| {
        tuple(&run(dp, &ipv4_tcp(client(c), VIP, port, 80, true, &[])).1).2
    };
    let first: Vec<String> = (1..=100).map(|c| member_of(&mut dp, c, 1000)).collect();
    for c in 1..=100u8 {
        assert_eq!(
            member_of(&mut dp, c, 2000),
            first[usize::from(c - 1)],
            "client {c} moved"
        );
    }
    // Drain b (weight 0): its clients move, the others stay; its open flow keeps going.
    let established = ipv4_tcp(
        client(first.iter().position(|m| m == "198.18.2.12").unwrap() as u8 + 1),
        VIP,
        1000,
        80,
        false,
        b"x",
    );
    let drained = one_lb(
        "198.18.1.1",
        "SOURCE_IP",
        &[
            ("a", "198.18.2.11", 1),
            ("b", "198.18.2.12", 0),
            ("c", "198.18.2.13", 1),
        ],
        json!({}),
    );
    apply(&mut dp, &drained);
    assert_eq!(
        tuple(&run(&mut dp, &established).1).2,
        "198.18.2.12",
        "established flow re-chosen"
    );
    let mut moved = 0;
    let on_b = first.iter().filter(|m| *m == "198.18.2.12").count();
    for c in 1..=100u8 {
        let now = member_of(&mut dp, c, 3000);
        assert_ne!(now, "198.18.2.12", "new flow sent to a drained member");
        if now != first[usize::from(c - 1)] {
            moved += 1;
        }
    }
    // Maglev: b's sources move, and only a few others (at most 1.5/N of all in total).
    assert!(
        moved >= on_b && moved <= 50,
        "{moved} of 100 sources moved ({on_b} were on b)"
    );
}

#[test]
fn new_flows_are_refused_for_each_reason() {
    require_root!();
    // UnknownFlow: mid-flow TCP packet for a VIP without state.
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({"connection_limit": 1}),
    );
    let mut dp = dataplane(&state, true);
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, false, b"x"));
    assert_eq!(
        (verdict, drops(&dp, DropReason::UnknownFlow)),
        (XdpVerdict::Drop, 1)
    );
    // ConnLimit: the second concurrent flow of a listener limited to 1 (the first one counts
    // once its handshake is complete).
    for syn in [true, false] {
        assert_eq!(
            run(&mut dp, &ipv4_tcp(client(10), VIP, 40001, 80, syn, &[])).0,
            XdpVerdict::Tx
        );
    }
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(11), VIP, 40001, 80, true, &[]));
    assert_eq!(
        (verdict, drops(&dp, DropReason::ConnLimit)),
        (XdpVerdict::Drop, 1)
    );
    // TruncatedL4: a TCP header cut short.
    let frame = ipv4_tcp(client(10), VIP, 40002, 80, true, &[]);
    let (verdict, _) = run(&mut dp, &frame[..14 + 20 + 10]);
    assert_eq!(
        (verdict, drops(&dp, DropReason::TruncatedL4)),
        (XdpVerdict::Drop, 1)
    );

    // NoBackend: every member drained.
    let none = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 0)],
        json!({}),
    );
    let mut dp = dataplane(&none, true);
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, true, &[]));
    assert_eq!(
        (verdict, drops(&dp, DropReason::NoBackend)),
        (XdpVerdict::Drop, 1)
    );

    // AdminDown: listener administratively down.
    let down = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({"admin_state_up": false}),
    );
    let mut dp = dataplane(&down, true);
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, true, &[]));
    assert_eq!(
        (verdict, drops(&dp, DropReason::AdminDown)),
        (XdpVerdict::Drop, 1)
    );

    // SnatExhausted: one SNAT port, one member, two clients.
    let mut one_port = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    one_port["snat"]["port_max"] = json!(20000);
    let mut dp = dataplane(&one_port, true);
    assert_eq!(
        run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, true, &[])).0,
        XdpVerdict::Tx
    );
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(11), VIP, 40000, 80, true, &[]));
    assert_eq!(
        (verdict, drops(&dp, DropReason::SnatExhausted)),
        (XdpVerdict::Drop, 1)
    );

    // FibFailed: outside fixture mode the translated packet is routed; BPF_PROG_TEST_RUN
    // gives it no interface, so the route lookup fails.
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, false);
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, true, &[]));
    assert_eq!(
        (verdict, drops(&dp, DropReason::FibFailed)),
        (XdpVerdict::Drop, 1)
    );
}

#[test]
fn reapplying_the_same_state_writes_nothing() {
    require_root!();
    let state = one_lb(
        "198.18.1.1",
        "SOURCE_IP",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    );
    let mut dp = dataplane(&state, true);
    let parsed = lb_proto::DesiredState::from_json(state.to_string().as_bytes()).unwrap();
    let report = dp.apply(&parsed).unwrap();
    assert_eq!(
        (
            report.vips_written,
            report.members_written,
            report.pools_written,
            report.vips_removed
        ),
        (0, 0, 0, 0)
    );
    // Removing the listener removes its VIP: SYNs are passed to the stack again.
    let mut empty = state.clone();
    empty["loadbalancers"][0]["listeners"] = json!([]);
    apply(&mut dp, &empty);
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, true, &[]));
    assert_eq!(verdict, XdpVerdict::Pass);
}

#[test]
fn allowed_cidrs_admit_matching_sources_only() {
    require_root!();
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        json!({"allowed_cidrs": ["198.18.0.0/28", "198.18.0.64/32"]}),
    );
    let mut dp = dataplane(&state, true);
    for (client_byte, allowed) in [(10, true), (15, true), (64, true), (16, false), (65, false)] {
        let (verdict, _) = run(
            &mut dp,
            &ipv4_tcp(client(client_byte), VIP, 40000, 80, true, &[]),
        );
        let want = if allowed {
            XdpVerdict::Tx
        } else {
            XdpVerdict::Drop
        };
        assert_eq!(verdict, want, "198.18.0.{client_byte}");
    }
    assert_eq!(drops(&dp, DropReason::AclDenied), 2);
    // The UDP listener of the same load balancer has no list: everyone is admitted.
    let (verdict, _) = run(&mut dp, &ipv4_udp(client(200), VIP, 5353, 53, b"q"));
    assert_eq!(verdict, XdpVerdict::Tx);
    // Lifting the list applies in place.
    apply(
        &mut dp,
        &one_lb(
            "198.18.1.1",
            "ROUND_ROBIN",
            &[("m1", "198.18.2.11", 1)],
            json!({}),
        ),
    );
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(65), VIP, 40001, 80, true, &[]));
    assert_eq!(verdict, XdpVerdict::Tx);
}

#[test]
fn garbage_collection_forgets_idle_flows_and_recounts_gauges() {
    require_root!();
    let short = json!({"timeout_client_data": 100, "timeout_member_data": 100});
    let state = one_lb(
        "198.18.1.1",
        "ROUND_ROBIN",
        &[("m1", "198.18.2.11", 1)],
        short,
    );
    let mut dp = dataplane(&state, true);
    // Two flows; both open (handshake completed), neither ever closes.
    for c in [10, 11] {
        for syn in [true, false] {
            assert_eq!(
                run(&mut dp, &ipv4_tcp(client(c), VIP, 40000, 80, syn, &[])).0,
                XdpVerdict::Tx
            );
        }
    }
    let now = lb_agent::dataplane::gc::monotonic_ns();
    let fresh = dp.collect_flows(now).expect("gc");
    assert_eq!(
        (fresh.scanned, fresh.removed, fresh.active),
        (4, 0, 2),
        "nothing is idle yet"
    );
    assert_eq!(dp.listener_stats("l80").unwrap().unwrap().active, 2);

    // Past the 100 ms timeout: both directions of both flows go, the gauges follow.
    let later = now + 150_000_000;
    let gc = dp.collect_flows(later).expect("gc");
    assert_eq!((gc.removed, gc.active), (4, 0));
    assert_eq!(dp.listener_stats("l80").unwrap().unwrap().active, 0);
    assert_eq!(dp.member_stats("m1").unwrap().unwrap().active, 0);
    // The flow is forgotten: a mid-flow packet is now unknown.
    let (verdict, _) = run(&mut dp, &ipv4_tcp(client(10), VIP, 40000, 80, false, b"x"));
    assert_eq!(verdict, XdpVerdict::Drop);
}
