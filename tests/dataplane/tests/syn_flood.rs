//! A SYN flood (or a flood of UDP datagrams from spoofed sources) must not evict established
//! flows: through the real object with BPF_PROG_TEST_RUN, with flow tables small enough for a
//! flood to overrun them many times. New flows live in `LB_SYN_FLOWS` and only a completed
//! handshake (the client's ACK) or, for UDP, the member's first answer moves a flow into
//! `LB_FLOWS`, so the flood churns the handshake table alone.

use lb_agent::dataplane::{Dataplane, XdpVerdict};
use lb_common::config::CFG_F_TX_AFTER_NAT;
use lb_dataplane_tests::{apply, frames::fix_l4_v4, one_lb, run, tuple};
use lb_testkit::{
    packet::{ipv4_tcp, ipv4_udp},
    require_root,
};
use serde_json::json;

const VIP: [u8; 4] = [198, 18, 1, 1];
const CLIENT: [u8; 4] = [198, 18, 0, 10];
/// Entries of `LB_FLOWS` (two per flow) and `LB_SYN_FLOWS` in this test.
const FLOWS: u32 = 1024;
const SYN_FLOWS: u32 = 512;
/// Spoofed SYNs: each would take two `LB_FLOWS` entries, eight times the table.
const FLOOD: u32 = 4 * FLOWS;

fn small_lb() -> Dataplane {
    let mut dp = Dataplane::load_with_flow_tables(FLOWS, SYN_FLOWS)
        .expect("load and verify the embedded lb-ebpf object");
    dp.set_config_flags(CFG_F_TX_AFTER_NAT);
    apply(
        &mut dp,
        &one_lb(
            "198.18.1.1",
            "LEAST_CONNECTIONS",
            &[("a", "198.18.2.11", 1), ("b", "198.18.2.12", 1)],
            json!({}),
        ),
    );
    dp
}

/// Opens a flow with a full handshake (SYN, then the client's ACK); returns its translation.
fn connect(dp: &mut Dataplane, client: [u8; 4], port: u16) -> (String, u16, String, u16) {
    let (verdict, syn_out) = run(dp, &ipv4_tcp(client, VIP, port, 80, true, &[]));
    assert_eq!(verdict, XdpVerdict::Tx);
    let (verdict, ack_out) = run(dp, &ipv4_tcp(client, VIP, port, 80, false, &[]));
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_eq!(tuple(&ack_out), tuple(&syn_out));
    tuple(&ack_out)
}

fn active(dp: &Dataplane, member: &str) -> u64 {
    dp.member_stats(member)
        .expect("member stats")
        .expect("member known")
        .active
}

#[test]
fn a_syn_flood_does_not_evict_an_established_flow() {
    require_root!();
    let mut dp = small_lb();
    let established = connect(&mut dp, CLIENT, 40000);
    let member = if established.2 == "198.18.2.11" {
        "a"
    } else {
        "b"
    };

    // Spoofed sources, each sending one SYN and never completing the handshake.
    for i in 0..FLOOD {
        let src = [198, 19, (i >> 8) as u8, i as u8];
        let port = 1024 + (i.wrapping_mul(7919) % 60_000) as u16;
        let (verdict, _) = run(&mut dp, &ipv4_tcp(src, VIP, port, 80, true, &[]));
        // Translated, or refused when the SNAT ports still held by handshakes run out.
        assert!(
            matches!(verdict, XdpVerdict::Tx | XdpVerdict::Drop),
            "SYN {i}: {verdict:?}"
        );
    }

    // The established flow still goes to its member with its SNAT port, both ways.
    let (verdict, out) = run(&mut dp, &ipv4_tcp(CLIENT, VIP, 40000, 80, false, b"after"));
    assert_eq!(verdict, XdpVerdict::Tx, "established flow lost");
    assert_eq!(tuple(&out), established, "established flow re-chosen");
    let member_addr = established.2.parse::<std::net::Ipv4Addr>().unwrap();
    let reply = ipv4_tcp(
        member_addr.octets(),
        [198, 18, 2, 1],
        8080,
        established.1,
        false,
        b"reply",
    );
    let (verdict, back) = run(&mut dp, &reply);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_eq!(
        tuple(&back),
        ("198.18.1.1".into(), 80, "198.18.0.10".into(), 40000)
    );

    // Half-open flows never counted as active: least connections sees one flow.
    let other = if member == "a" { "b" } else { "a" };
    assert_eq!((active(&dp, member), active(&dp, other)), (1, 0));
    let l = dp.listener_stats("l80").unwrap().unwrap();
    assert_eq!((l.active, l.traffic.opened), (1, 1));

    // A real client still gets in after the flood; least connections sends it to the other
    // member, and it counts once its handshake completes.
    let second = connect(&mut dp, [198, 18, 0, 11], 40001);
    assert_ne!(second.2, established.2);
    assert_eq!((active(&dp, member), active(&dp, other)), (1, 1));
}

#[test]
fn garbage_collection_forgets_stale_handshakes_without_touching_gauges() {
    require_root!();
    let mut dp = small_lb();
    connect(&mut dp, CLIENT, 40000);
    for i in 0..10u8 {
        let (verdict, _) = run(
            &mut dp,
            &ipv4_tcp([198, 19, 0, i], VIP, 50000, 80, true, &[]),
        );
        assert_eq!(verdict, XdpVerdict::Tx);
    }
    let now = lb_agent::dataplane::gc::monotonic_ns();
    let gc = dp.collect_flows(now).expect("gc");
    // 2 established entries + 20 handshake entries; one active flow.
    assert_eq!((gc.scanned, gc.removed, gc.active), (22, 0, 1));
    // Past the handshake timeout (30 s) but within the listener's (50 s by default): only the
    // handshakes go.
    let gc = dp.collect_flows(now + 31_000_000_000).expect("gc");
    assert_eq!((gc.scanned, gc.removed, gc.active), (22, 20, 1));
    let l = dp.listener_stats("l80").unwrap().unwrap();
    assert_eq!(l.active, 1);
}

#[test]
fn a_udp_flood_does_not_evict_an_answered_udp_flow() {
    require_root!();
    let mut dp = small_lb();
    let (verdict, out) = run(&mut dp, &ipv4_udp(CLIENT, VIP, 5353, 53, b"query"));
    assert_eq!(verdict, XdpVerdict::Tx);
    let flow = tuple(&out);
    let udp_stats = |dp: &Dataplane| {
        let l = dp.listener_stats("l53").unwrap().unwrap();
        (l.active, l.traffic.opened)
    };
    assert_eq!(udp_stats(&dp), (0, 0), "not answered yet: not counted");
    // The member answers: the flow is established (and counted).
    let member_addr = flow.2.parse::<std::net::Ipv4Addr>().unwrap().octets();
    let answer = ipv4_udp(member_addr, [198, 18, 2, 1], 8080, flow.1, b"answer");
    let (verdict, back) = run(&mut dp, &answer);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_eq!(
        tuple(&back),
        ("198.18.1.1".into(), 53, "198.18.0.10".into(), 5353)
    );
    assert_eq!(udp_stats(&dp), (1, 1));

    // Spoofed sources, one datagram each, never answered: eight times `LB_FLOWS` if they
    // were established.
    for i in 0..FLOOD {
        let src = [198, 19, (i >> 8) as u8, i as u8];
        let port = 1024 + (i.wrapping_mul(7919) % 60_000) as u16;
        let (verdict, _) = run(&mut dp, &ipv4_udp(src, VIP, port, 53, b"x"));
        assert!(
            matches!(verdict, XdpVerdict::Tx | XdpVerdict::Drop),
            "datagram {i}: {verdict:?}"
        );
    }

    // The answered flow keeps its member and SNAT port, both ways; the flood counted nothing.
    let (verdict, out) = run(&mut dp, &ipv4_udp(CLIENT, VIP, 5353, 53, b"again"));
    assert_eq!(verdict, XdpVerdict::Tx, "established UDP flow lost");
    assert_eq!(tuple(&out), flow, "established UDP flow re-chosen");
    let (verdict, back) = run(&mut dp, &answer);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_eq!(tuple(&back).2, "198.18.0.10");
    assert_eq!(udp_stats(&dp), (1, 1));
}

/// A TCP segment with `flags` (FIN 0x01, ACK 0x10, ...).
fn segment(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = ipv4_tcp(src, dst, sport, dport, false, &[]);
    f[14 + 20 + 13] = flags;
    fix_l4_v4(&mut f);
    f
}

#[test]
fn a_client_reusing_its_port_after_a_close_gets_its_snat_port_again() {
    require_root!();
    let mut dp = small_lb();
    let first = connect(&mut dp, CLIENT, 41000);
    let member = first.2.parse::<std::net::Ipv4Addr>().unwrap().octets();
    // Both sides close.
    let fin = segment(CLIENT, VIP, 41000, 80, 0x11);
    assert_eq!(run(&mut dp, &fin).0, XdpVerdict::Tx);
    let fin_back = segment(member, [198, 18, 2, 1], 8080, first.1, 0x11);
    assert_eq!(run(&mut dp, &fin_back).0, XdpVerdict::Tx);
    // The client opens again from the same port (TIME_WAIT reuse): a new flow, and the closed
    // one's reply entry is gone with it, so the SNAT port its search starts at is free.
    let second = connect(&mut dp, CLIENT, 41000);
    assert_eq!(second, first, "same member, same SNAT port");
    let l = dp.listener_stats("l80").unwrap().unwrap();
    assert_eq!((l.active, l.traffic.opened, l.traffic.closed), (1, 2, 1));
}
