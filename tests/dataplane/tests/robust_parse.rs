//! Parsing beyond plain Ethernet + IP + TCP/UDP, through the real object with
//! BPF_PROG_TEST_RUN in fixture mode: VLAN-tagged VIP traffic is balanced and leaves untagged
//! (byte for byte what the untagged packet gives), IPv6 extension headers are walked to the
//! transport header, and fragments addressed to a VIP or SNAT address are dropped and counted,
//! never translated.

use lb_agent::dataplane::{Dataplane, XdpVerdict};
use lb_common::drop::DropReason;
use lb_dataplane_tests::{
    assert_checksums, dataplane,
    frames::{
        DEST_OPTS, FRAGMENT, HOP_BY_HOP, ROUTING, ipv4_fragment, tcp_v6, untagged, with_v6_ext,
    },
    one_lb, run, tuple,
};
use lb_testkit::{
    packet::{ipv4_tcp, ipv4_udp, push_vlan_tag, vlan_ipv4_tcp},
    require_root,
};
use serde_json::json;

const CLIENT: [u8; 4] = [198, 18, 0, 10];
const VIP: [u8; 4] = [198, 18, 1, 1];
const MEMBER: [u8; 4] = [198, 18, 2, 11];
const SNAT: [u8; 4] = [198, 18, 2, 1];

fn v4_state() -> serde_json::Value {
    one_lb(
        "198.18.1.1",
        "SOURCE_IP_PORT",
        &[("m1", "198.18.2.11", 1)],
        json!({}),
    )
}

fn v6_state() -> serde_json::Value {
    one_lb(
        "fd00:1::1",
        "SOURCE_IP_PORT",
        &[("m6", "fd00:2::11", 1)],
        json!({}),
    )
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().expect("IPv6").octets()
}

fn drops(dp: &Dataplane, reason: DropReason) -> u64 {
    dp.counters().expect("counters").dropped(reason).packets
}

/// What a fresh data plane makes of `frame`: the reference output for a variant of it.
fn reference(state: &serde_json::Value, frame: &[u8]) -> Vec<u8> {
    let mut dp = dataplane(state, true);
    let (verdict, out) = run(&mut dp, frame);
    assert_eq!(verdict, XdpVerdict::Tx, "reference frame not translated");
    out
}

#[test]
fn vlan_tagged_vip_traffic_is_balanced_and_leaves_untagged() {
    require_root!();
    for tags in [&[100u16][..], &[100, 200]] {
        let tagged = vlan_ipv4_tcp(tags, CLIENT, VIP, 40000, 80);
        let plain = untagged(&tagged, tags.len());
        let want = reference(&v4_state(), &plain);
        let mut dp = dataplane(&v4_state(), true);
        let (verdict, out) = run(&mut dp, &tagged);
        assert_eq!(verdict, XdpVerdict::Tx, "{tags:?}");
        assert_eq!(out, want, "{tags:?}: not the untagged packet's translation");
        assert_checksums(&out);
        let (src, _, dst, dport) = tuple(&out);
        assert_eq!(
            (src.as_str(), dst.as_str(), dport),
            ("198.18.2.1", "198.18.2.11", 8080)
        );

        // The member's (untagged) reply goes back translated.
        let reply = ipv4_tcp(MEMBER, SNAT, 8080, tuple(&out).1, false, b"ok");
        let (verdict, back) = run(&mut dp, &reply);
        assert_eq!(verdict, XdpVerdict::Tx);
        assert_checksums(&back);
        assert_eq!(
            tuple(&back),
            ("198.18.1.1".into(), 80, "198.18.0.10".into(), 40000)
        );
        // Later tagged packets of the flow are translated too (tag stripped).
        let data = push_vlan_tag(&ipv4_tcp(CLIENT, VIP, 40000, 80, false, b"x"), 100);
        let (verdict, out) = run(&mut dp, &data);
        assert_eq!(verdict, XdpVerdict::Tx);
        assert_eq!(&out[12..14], &[0x08, 0x00], "tag left on a data packet");
        assert_checksums(&out);
    }
}

#[test]
fn ipv6_extension_headers_are_walked_to_the_transport_header() {
    require_root!();
    let syn = tcp_v6(v6("fd00::10"), v6("fd00:1::1"), 40000, 80, 0x02);
    let hbh = with_v6_ext(&syn, HOP_BY_HOP, 8, |h| h[2] = 1); // PadN option
    let chain = with_v6_ext(
        &with_v6_ext(&hbh, DEST_OPTS, 16, |h| h[2] = 1),
        ROUTING,
        8,
        |_| {},
    );
    for (name, frame) in [
        ("hop-by-hop", hbh),
        ("routing (done), dest opts, hop-by-hop", chain),
    ] {
        let mut dp = dataplane(&v6_state(), true);
        let (verdict, out) = run(&mut dp, &frame);
        assert_eq!(verdict, XdpVerdict::Tx, "{name}");
        assert_checksums(&out);
        let (src, _, dst, dport) = tuple(&out);
        assert_eq!(
            (src.as_str(), dst.as_str(), dport),
            ("fd00:2::1", "fd00:2::11", 8080),
            "{name}"
        );
        // Only addresses and ports changed: same length, same extension headers.
        assert_eq!(out.len(), frame.len(), "{name}");
        assert_eq!(
            out[54..out.len() - 20],
            frame[54..frame.len() - 20],
            "{name}"
        );
    }

    let mut dp = dataplane(&v6_state(), true);
    // A routing header with segments left: this host is not the final destination.
    let transit = with_v6_ext(&syn, ROUTING, 24, |h| h[3] = 1);
    let (verdict, out) = run(&mut dp, &transit);
    assert_eq!((verdict, out), (XdpVerdict::Pass, transit));
    // Five extension headers: more than the parser follows; counted, not balanced.
    let mut deep = syn.clone();
    for _ in 0..5 {
        deep = with_v6_ext(&deep, DEST_OPTS, 8, |h| h[2] = 1);
    }
    let (verdict, _) = run(&mut dp, &deep);
    assert_eq!(
        (verdict, drops(&dp, DropReason::Ipv6ExtHeaders)),
        (XdpVerdict::Drop, 1)
    );
    // A header running past the frame.
    let mut cut = with_v6_ext(&syn, HOP_BY_HOP, 8, |h| h[2] = 1);
    cut.truncate(54 + 4);
    let (verdict, _) = run(&mut dp, &cut);
    assert_eq!(
        (verdict, drops(&dp, DropReason::TruncatedIpv6)),
        (XdpVerdict::Drop, 1)
    );
}

#[test]
fn fragments_to_a_vip_or_snat_address_are_dropped_and_counted() {
    require_root!();
    let mut dp = dataplane(&v4_state(), true);
    // Establish a flow, so a fragment with the flow's "ports" in its first bytes could be
    // mistaken for it.
    let syn = ipv4_tcp(CLIENT, VIP, 40000, 80, true, &[]);
    assert_eq!(run(&mut dp, &syn).0, XdpVerdict::Tx);
    let data = ipv4_tcp(CLIENT, VIP, 40000, 80, false, &[0x5a; 64]);
    let udp = ipv4_udp(CLIENT, VIP, 5353, 53, &[0x5a; 64]);
    let mut expected = 0;
    for (name, frame) in [
        ("first tcp fragment", ipv4_fragment(&data, true, 0)),
        ("later tcp fragment", ipv4_fragment(&data, false, 3)),
        ("middle udp fragment", ipv4_fragment(&udp, true, 8)),
        (
            "member reply fragment",
            ipv4_fragment(&ipv4_udp(MEMBER, SNAT, 8080, 20000, &[1; 32]), true, 0),
        ),
    ] {
        expected += 1;
        let (verdict, _) = run(&mut dp, &frame);
        assert_eq!(verdict, XdpVerdict::Drop, "{name}");
        assert_eq!(drops(&dp, DropReason::Fragment), expected, "{name}");
    }
    // Fragments to other addresses are none of our business.
    let other = ipv4_fragment(
        &ipv4_tcp(CLIENT, [198, 18, 9, 9], 1, 2, false, &[0; 16]),
        true,
        0,
    );
    assert_eq!(run(&mut dp, &other), (XdpVerdict::Pass, other.clone()));
    // An address in the VIP's slot of the destination pre-filter (flipping the same bits of
    // its first and third byte keeps the 16-bit fold) is still no VIP: its fragments, its TCP
    // and its UDP go to the stack untouched, and nothing is counted as dropped.
    let twin = [VIP[0] ^ 0x40, VIP[1], VIP[2] ^ 0x40, VIP[3]];
    let slot = |a: [u8; 4]| {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&a);
        lb_common::vip::AddrKey {
            addr,
            family: lb_common::addr::FAMILY_V4,
            _pad: [0; 3],
        }
        .filter_slot()
    };
    assert_eq!(
        slot(twin),
        slot(VIP),
        "the twin must share the VIP's filter slot"
    );
    let twin_data = ipv4_tcp(CLIENT, twin, 40000, 80, false, &[0x5a; 64]);
    for (name, frame) in [
        ("fragment", ipv4_fragment(&twin_data, true, 0)),
        ("tcp", ipv4_tcp(CLIENT, twin, 40001, 80, true, &[])),
        ("udp", ipv4_udp(CLIENT, twin, 5353, 53, &[1; 8])),
    ] {
        assert_eq!(
            run(&mut dp, &frame),
            (XdpVerdict::Pass, frame.clone()),
            "twin {name}"
        );
    }
    assert_eq!(drops(&dp, DropReason::Fragment), expected);

    let mut dp6 = dataplane(&v6_state(), true);
    let syn6 = tcp_v6(v6("fd00::10"), v6("fd00:1::1"), 40000, 80, 0x02);
    for (name, offset_flags) in [("first", 0x0001u16), ("later", 0x0010)] {
        let frag = with_v6_ext(&syn6, FRAGMENT, 8, |h| {
            h[2..4].copy_from_slice(&offset_flags.to_be_bytes());
            h[4..8].copy_from_slice(&7u32.to_be_bytes());
        });
        let (verdict, _) = run(&mut dp6, &frag);
        assert_eq!(verdict, XdpVerdict::Drop, "ipv6 {name} fragment");
    }
    assert_eq!(drops(&dp6, DropReason::Fragment), 2);
}
