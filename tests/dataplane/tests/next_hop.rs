//! Forwarding with real route lookups (BPF_PROG_TEST_RUN with a namespace's interface as
//! ingress): a flow reuses its next hop for `NH_CACHE_NS`, then picks up a changed neighbour;
//! members behind the interface a packet came in on are answered with XDP_TX; a member whose
//! MAC is unknown gets the packet passed with the next-hop mark for `lb_tc_in`.

use std::time::Duration;

use lb_agent::dataplane::{AttachMode, Dataplane, RunOptions, XdpVerdict};
use lb_common::{flow::NH_CACHE_NS, maps::XDP_PROGRAM};
use lb_dataplane_tests::apply;
use lb_testkit::{Netns, packet::ipv4_tcp, require_root};
use serde_json::json;

const CLIENT: [u8; 4] = [198, 19, 0, 10];
const VIP: [u8; 4] = [198, 19, 0, 100];

/// `lb` with eth0 (clients, 198.19.0.0/24) and eth1 (198.19.1.0/24) to two peer namespaces,
/// static neighbours for the members: `near` on eth0, `far` on eth1.
struct Topology {
    lb: Netns,
    _client: Netns,
    _member: Netns,
    eth0: u32,
}

fn ifindex(ns: &Netns, iface: &str) -> u32 {
    ns.ip(&["-o", "link", "show", iface])
        .split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("ifindex")
}

impl Topology {
    fn new() -> Self {
        let lb = Netns::new("nh-lb");
        let client = Netns::new("nh-client");
        let member = Netns::new("nh-member");
        lb.veth("eth0", &client, "eth0");
        lb.veth("eth1", &member, "eth0");
        lb.addr("eth0", "198.19.0.1/24");
        lb.addr("eth1", "198.19.1.1/24");
        lb.static_neighbour("198.19.0.11", "02:00:00:00:00:0b", "eth0");
        lb.static_neighbour("198.19.1.11", "02:00:00:00:01:0b", "eth1");
        let eth0 = ifindex(&lb, "eth0");
        Self {
            lb,
            _client: client,
            _member: member,
            eth0,
        }
    }

    fn dataplane(&self) -> Dataplane {
        self.lb.enter(|| {
            let mut dp = Dataplane::load().expect("load the data plane");
            // Attaching enables forwarding on the interfaces, which route lookups need.
            for iface in ["eth0", "eth1"] {
                dp.attach(iface, AttachMode::Native).expect("attach");
            }
            dp
        })
    }
}

fn state(member: &str, snat: &str) -> serde_json::Value {
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": snat, "port_min": 20000, "port_max": 20999},
        "loadbalancers": [{"id": "lb", "vip_address": "198.19.0.100",
            "listeners": [{"id": "l", "protocol": "TCP", "protocol_port": 80,
                "default_pool_id": "p"}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m", "address": member, "protocol_port": 8080}]}]}]
    })
}

/// Runs `frame` as if it arrived on `ifindex` of `lb` (the kernel resolves the interface, and
/// routes, in the calling thread's namespace).
fn send(lb: &Netns, dp: &mut Dataplane, frame: &[u8], ifindex: u32) -> (XdpVerdict, Vec<u8>) {
    let out = lb
        .enter(|| {
            dp.test_run_program(
                XDP_PROGRAM,
                frame,
                RunOptions {
                    repeat: 1,
                    ingress_ifindex: ifindex,
                    live_batch: None,
                },
            )
        })
        .expect("BPF_PROG_TEST_RUN");
    (out.verdict, out.packet)
}

#[test]
fn a_flow_picks_up_a_changed_neighbour_within_the_cache_time() {
    require_root!();
    let topo = Topology::new();
    let mut dp = topo.dataplane();
    apply(&mut dp, &state("198.19.1.11", "198.19.1.1"));
    let syn = ipv4_tcp(CLIENT, VIP, 40000, 80, true, &[]);
    let ack = ipv4_tcp(CLIENT, VIP, 40000, 80, false, &[1; 16]);
    for frame in [&syn, &ack, &ack] {
        let (verdict, out) = send(&topo.lb, &mut dp, frame, topo.eth0);
        assert_eq!(verdict, XdpVerdict::Redirect);
        assert_eq!(out[..6], [2, 0, 0, 0, 1, 0x0b], "the member's MAC");
    }
    // The member moves to another MAC: established packets follow once the flow's next hop
    // is older than the cache time.
    topo.lb
        .static_neighbour("198.19.1.11", "02:00:00:00:01:0c", "eth1");
    std::thread::sleep(Duration::from_nanos(NH_CACHE_NS) + Duration::from_millis(200));
    let (verdict, out) = send(&topo.lb, &mut dp, &ack, topo.eth0);
    assert_eq!(verdict, XdpVerdict::Redirect);
    assert_eq!(out[..6], [2, 0, 0, 0, 1, 0x0c], "the member's new MAC");
    let (_, out) = send(&topo.lb, &mut dp, &ack, topo.eth0);
    assert_eq!(out[..6], [2, 0, 0, 0, 1, 0x0c], "and it stays");
    // The route goes: the flow's next lookup fails and the packet is dropped, not sent to the
    // stale next hop forever.
    topo.lb.ip(&["addr", "flush", "dev", "eth1"]);
    std::thread::sleep(Duration::from_nanos(NH_CACHE_NS) + Duration::from_millis(200));
    assert_eq!(send(&topo.lb, &mut dp, &ack, topo.eth0).0, XdpVerdict::Drop);
}

#[test]
fn members_behind_the_ingress_interface_are_answered_with_xdp_tx() {
    require_root!();
    let topo = Topology::new();
    let mut dp = topo.dataplane();
    apply(&mut dp, &state("198.19.0.11", "198.19.0.1"));
    let syn = ipv4_tcp(CLIENT, VIP, 40001, 80, true, &[]);
    let ack = ipv4_tcp(CLIENT, VIP, 40001, 80, false, &[1; 16]);
    for (name, frame) in [("syn", &syn), ("ack", &ack), ("cached ack", &ack)] {
        let (verdict, out) = send(&topo.lb, &mut dp, frame, topo.eth0);
        assert_eq!(verdict, XdpVerdict::Tx, "{name}: {:?}", dp.counters());
        assert_eq!(out[..6], [2, 0, 0, 0, 0, 0x0b], "{name}: the member's MAC");
        assert_eq!(out[30..34], [198, 19, 0, 11], "{name}: to the member");
    }
}

#[test]
fn a_member_whose_mac_is_unknown_gets_a_marked_packet_for_the_tc_program() {
    require_root!();
    let topo = Topology::new();
    let eth1 = ifindex(&topo.lb, "eth1");
    let mut dp = topo.dataplane();
    // No neighbour entry for 198.19.1.12: the route lookup answers NO_NEIGH.
    apply(&mut dp, &state("198.19.1.12", "198.19.1.1"));
    let syn = ipv4_tcp(CLIENT, VIP, 40002, 80, true, &[]);
    let (verdict, out) = send(&topo.lb, &mut dp, &syn, topo.eth0);
    assert_eq!(verdict, XdpVerdict::Pass, "{:?}", dp.counters());
    assert_eq!(out[30..34], [198, 19, 1, 12], "translated to the member");
    // The mark: 02, the secret, the egress interface; the secret is the agent's own random
    // one (not zero, and another load draws another).
    assert_eq!(out[0], lb_common::nh_mark::FIRST);
    assert_eq!(out[8..12], eth1.to_le_bytes(), "the egress interface");
    assert_ne!(out[1..8], [0; 7], "a secret");
    // (Not attached: the first one enabled the forwarding that route lookups need.)
    let mut again = topo
        .lb
        .enter(|| Dataplane::load().expect("load the data plane"));
    apply(&mut again, &state("198.19.1.12", "198.19.1.1"));
    let (_, other) = send(&topo.lb, &mut again, &syn, topo.eth0);
    assert_ne!(other[1..8], out[1..8], "a new load draws a new secret");
}
