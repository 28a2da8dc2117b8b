//! The benchmark topology: the lb namespace with a client-side and a member-side veth (peers in
//! their own namespaces, GRO on so redirected frames are accepted), static neighbours so route
//! lookups succeed, and a desired state with one TCP and one UDP listener.

use lb_agent::dataplane::{Dataplane, RunOptions, TestRunOutcome};
use lb_proto::DesiredState;
use lb_testkit::{Netns, packet};

pub const VIP: [u8; 4] = [198, 18, 0, 100];
/// Member of the one-armed layout of the live benchmark: behind the client-side interface.
pub const ONE_ARM_MEMBER: &str = "198.18.0.11";
/// The IPv6 VIP (test-run figure of an IPv6 flow), as an address and as on the interface.
pub const VIP6: &str = "fd00:18::100";
const VIP6_CIDR: &str = "fd00:18::100/128";
/// The IPv6 member, behind the member-side veth.
pub const MEMBER6: &str = "fd00:18:1::11";
/// The IPv6 client of the test-run figure.
pub const CLIENT6: &str = "fd00:18::10";

/// Namespaces (removed on drop) and the ifindex of the client-side interface in `lb`.
pub struct Bench {
    pub lb: Netns,
    pub client: Netns,
    pub member: Netns,
    /// ifindex of `eth0` in `lb` (client side).
    pub eth0: u32,
    /// ifindex of `eth0` in the client namespace.
    pub client_eth0: u32,
}

/// ifindex of an interface of a namespace ("7: eth0@if6: <...>"; sysfs would show the root
/// namespace's interfaces).
pub fn ifindex(ns: &Netns, iface: &str) -> u32 {
    ns.ip(&["-o", "link", "show", iface])
        .split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

impl Bench {
    #[must_use]
    pub fn new() -> Self {
        let lb = Netns::new("bench-lb");
        let client = Netns::new("bench-client");
        let member = Netns::new("bench-member");
        lb.veth("eth0", &client, "eth0");
        lb.veth("eth1", &member, "eth0");
        for (ns, iface) in [(&client, "eth0"), (&member, "eth0")] {
            ns.exec_ok("ethtool", &["-K", iface, "gro", "on"]);
        }
        lb.addr("eth0", "198.18.0.2/16");
        lb.addr("eth0", "198.18.0.100/32");
        lb.addr("eth1", "198.18.1.1/24");
        lb.sysctl("net.ipv4.conf.all.forwarding", "1");
        lb.sysctl("net.ipv4.conf.eth0.forwarding", "1");
        lb.sysctl("net.ipv4.conf.eth1.forwarding", "1");
        // Clients come from 198.18.0.0/16 (up to 65k sources), members sit on eth1 (static
        // neighbour: route lookups succeed without ARP).
        lb.static_neighbour("198.18.1.11", "02:00:00:00:01:0b", "eth1");
        // The one-armed layout's member sits on the client side (eth0), its address resolved
        // the same way.
        lb.static_neighbour(ONE_ARM_MEMBER, "02:00:00:00:00:0b", "eth0");
        // IPv6: the VIP and clients on eth0, the member and the SNAT address on eth1 (no
        // duplicate address detection: the addresses are usable at once).
        for (iface, addr) in [
            ("eth0", "fd00:18::2/64"),
            ("eth0", VIP6_CIDR),
            ("eth1", "fd00:18:1::1/64"),
        ] {
            lb.ip(&["addr", "add", addr, "dev", iface, "nodad"]);
        }
        lb.sysctl("net.ipv6.conf.all.forwarding", "1");
        lb.static_neighbour(MEMBER6, "02:00:00:00:01:0b", "eth1");
        let eth0 = ifindex(&lb, "eth0");
        let client_eth0 = ifindex(&client, "eth0");
        Self {
            lb,
            client,
            member,
            eth0,
            client_eth0,
        }
    }
}

/// The benchmark's desired state.
pub fn state() -> anyhow::Result<DesiredState> {
    let json = serde_json::json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": "198.18.1.1", "ipv6": "fd00:18:1::1", "port_min": 1024, "port_max": 65535},
        "loadbalancers": [{"id": "lb", "vip_address": "198.18.0.100",
            "listeners": [
                {"id": "tcp", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p"},
                {"id": "udp", "protocol": "UDP", "protocol_port": 53, "default_pool_id": "p"}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m", "address": "198.18.1.11", "protocol_port": 8080}]}]},
            {"id": "lb6", "vip_address": VIP6,
            "listeners": [
                {"id": "tcp6", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p6"}],
            "pools": [{"id": "p6", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m6", "address": MEMBER6, "protocol_port": 8080}]}]}]
    });
    Ok(DesiredState::from_json(json.to_string().as_bytes())?)
}

/// Client address number `i` (0..65000) in 198.18.0.0/16, avoiding .0.x.
#[must_use]
pub fn client(i: u32) -> [u8; 4] {
    let i = i + 256;
    [198, 18, (i >> 8) as u8, (i & 0xff) as u8]
}

/// A TCP frame from client `i` to the VIP.
#[must_use]
pub fn tcp(i: u32, sport: u16, syn: bool) -> Vec<u8> {
    packet::ipv4_tcp(client(i), VIP, sport, 80, syn, &[0u8; 64])
}

/// Runs one frame through a program with the client-side interface as ingress.
pub fn run(
    dp: &mut Dataplane,
    program: &'static str,
    frame: &[u8],
    ifindex: u32,
    repeat: u32,
) -> anyhow::Result<TestRunOutcome> {
    Ok(dp.test_run_program(
        program,
        frame,
        RunOptions {
            repeat,
            ingress_ifindex: ifindex,
            live_batch: None,
        },
    )?)
}
