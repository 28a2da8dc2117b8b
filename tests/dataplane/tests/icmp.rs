//! ICMP and ICMPv6 errors about balanced flows, through the real object with
//! BPF_PROG_TEST_RUN in fixture mode. Each translated error is compared byte for byte with the
//! error the other side must receive, built from scratch with checksums computed in full: the
//! quoted packet is exactly what that side sent (addresses, ports and checksums restored).

use lb_agent::dataplane::{Dataplane, XdpVerdict};
use lb_common::drop::DropReason;
use lb_dataplane_tests::{
    dataplane,
    frames::{icmp4_error, icmp6_error, tcp_v6},
    one_lb, run, tuple,
};
use lb_testkit::{
    packet::{ipv4_tcp, ipv4_udp, push_vlan_tag},
    require_root,
};
use serde_json::json;

const CLIENT: [u8; 4] = [198, 18, 0, 10];
const VIP: [u8; 4] = [198, 18, 1, 1];
const MEMBER: [u8; 4] = [198, 18, 2, 11];
const SNAT: [u8; 4] = [198, 18, 2, 1];
/// A router between the load balancer and the members.
const ROUTER: [u8; 4] = [198, 18, 2, 254];
/// Next-hop MTU 1400 in a fragmentation-needed error.
const MTU_1400: [u8; 4] = [0, 0, 0x05, 0x78];

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().expect("IPv6").octets()
}

fn v4_lb() -> Dataplane {
    dataplane(
        &one_lb(
            "198.18.1.1",
            "ROUND_ROBIN",
            &[("m1", "198.18.2.11", 1)],
            json!({}),
        ),
        true,
    )
}

/// Opens a TCP flow from the client and returns (client data packet, its translation).
fn v4_flow(dp: &mut Dataplane) -> (Vec<u8>, Vec<u8>) {
    let syn = ipv4_tcp(CLIENT, VIP, 40000, 80, true, &[]);
    assert_eq!(run(dp, &syn).0, XdpVerdict::Tx);
    let data = ipv4_tcp(CLIENT, VIP, 40000, 80, false, &[0x5a; 1400]);
    let (verdict, out) = run(dp, &data);
    assert_eq!(verdict, XdpVerdict::Tx);
    (data, out)
}

fn assert_same(name: &str, got: &[u8], want: &[u8]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{name}: length\n got {got:02x?}\nwant {want:02x?}"
    );
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{name}: first difference at byte {i}\n got {got:02x?}\nwant {want:02x?}");
    }
}

#[test]
fn fragmentation_needed_from_the_member_side_reaches_the_client_translated() {
    require_root!();
    let mut dp = v4_lb();
    let (data, translated) = v4_flow(&mut dp);
    // Quotes: IP header + TCP header + 8 bytes (RFC 1812 routers quote more; check both
    // a long quote and the RFC 792 minimum of 8 transport bytes, which has no TCP checksum).
    for quote_len in [20 + 20 + 8, 20 + 8] {
        let error = icmp4_error(
            ROUTER,
            SNAT,
            3,
            4,
            MTU_1400,
            &translated[14..14 + quote_len],
        );
        let (verdict, out) = run(&mut dp, &error);
        assert_eq!(verdict, XdpVerdict::Tx, "quote of {quote_len}");
        let want = icmp4_error(VIP, CLIENT, 3, 4, MTU_1400, &data[14..14 + quote_len]);
        assert_same(&format!("quote of {quote_len}"), &out, &want);
    }
    // Time exceeded, UDP flow.
    let query = ipv4_udp(CLIENT, VIP, 5353, 53, b"query");
    let (verdict, q_out) = run(&mut dp, &query);
    assert_eq!(verdict, XdpVerdict::Tx);
    let error = icmp4_error(ROUTER, SNAT, 11, 0, [0; 4], &q_out[14..]);
    let (verdict, out) = run(&mut dp, &error);
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_same(
        "udp time exceeded",
        &out,
        &icmp4_error(VIP, CLIENT, 11, 0, [0; 4], &query[14..]),
    );
}

#[test]
fn an_error_from_the_client_side_reaches_the_member_translated() {
    require_root!();
    let mut dp = v4_lb();
    let (_, translated) = v4_flow(&mut dp);
    let (_, sport, _, _) = tuple(&translated);
    let reply = ipv4_tcp(MEMBER, SNAT, 8080, sport, false, &[0x33; 600]);
    let (verdict, back) = run(&mut dp, &reply);
    assert_eq!(verdict, XdpVerdict::Tx);
    let error = icmp4_error(CLIENT, VIP, 3, 4, MTU_1400, &back[14..14 + 48]);
    let (verdict, out) = run(&mut dp, &error);
    assert_eq!(verdict, XdpVerdict::Tx);
    let want = icmp4_error(SNAT, MEMBER, 3, 4, MTU_1400, &reply[14..14 + 48]);
    assert_same("client-side error", &out, &want);
    // The same error arriving VLAN-tagged leaves untagged, translated the same way.
    let (verdict, out) = run(&mut dp, &push_vlan_tag(&error, 100));
    assert_eq!(verdict, XdpVerdict::Tx);
    assert_same("tagged client-side error", &out, &want);
}

#[test]
fn packet_too_big_from_the_member_side_reaches_the_ipv6_client_translated() {
    require_root!();
    let mut dp = dataplane(
        &one_lb(
            "fd00:1::1",
            "ROUND_ROBIN",
            &[("m6", "fd00:2::11", 1)],
            json!({}),
        ),
        true,
    );
    let syn = tcp_v6(v6("fd00::10"), v6("fd00:1::1"), 40000, 80, 0x02);
    let (verdict, translated) = run(&mut dp, &syn);
    assert_eq!(verdict, XdpVerdict::Tx);
    let mtu = 1280u32.to_be_bytes();
    let error = icmp6_error(
        v6("fd00:2::fe"),
        v6("fd00:2::1"),
        2,
        0,
        mtu,
        &translated[14..],
    );
    let (verdict, out) = run(&mut dp, &error);
    assert_eq!(verdict, XdpVerdict::Tx);
    let want = icmp6_error(v6("fd00:1::1"), v6("fd00::10"), 2, 0, mtu, &syn[14..]);
    assert_same("packet too big", &out, &want);
}

#[test]
fn untracked_errors_are_passed_and_cut_quotes_are_counted() {
    require_root!();
    let mut dp = v4_lb();
    let (_, translated) = v4_flow(&mut dp);
    // A flow the table does not know (other port): the stack gets it untouched.
    let stranger = ipv4_tcp(SNAT, MEMBER, 20999, 8080, false, &[]);
    let error = icmp4_error(ROUTER, SNAT, 3, 4, MTU_1400, &stranger[14..]);
    assert_eq!(run(&mut dp, &error), (XdpVerdict::Pass, error.clone()));
    // Not an error (echo request to the VIP): the stack's.
    let echo = icmp4_error(CLIENT, VIP, 8, 0, [0, 1, 0, 1], b"ping");
    assert_eq!(run(&mut dp, &echo), (XdpVerdict::Pass, echo.clone()));
    // A quote that ends inside the quoted ports.
    let cut = icmp4_error(ROUTER, SNAT, 3, 4, MTU_1400, &translated[14..14 + 22]);
    let (verdict, _) = run(&mut dp, &cut);
    let drops = dp
        .counters()
        .expect("counters")
        .dropped(DropReason::TruncatedIcmp);
    assert_eq!((verdict, drops.packets), (XdpVerdict::Drop, 1));
}
