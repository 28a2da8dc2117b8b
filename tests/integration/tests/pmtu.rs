//! Path-MTU discovery through the data plane, with real traffic: a link with a 1280-byte MTU
//! sits between two routers on the member side, so the client's full-size segments to the VIP
//! (DF set) reach a router that cannot forward them. The router's "fragmentation needed" goes
//! to the SNAT address, quoting the translated packet; the data plane must translate it back
//! to the client, whose TCP then lowers its segment size. Without that, the upload stalls.
//!
//! Both for IPv4 ("fragmentation needed") and IPv6 ("packet too big").
//!
//! ```text
//!  client ── lb (XDP) ── r1 ══ 1280 ══ r2 ── member
//!  .0.1      .0.2 / VIP .0.100   .3.1   .3.2   .2.1  .2.11
//!            .1.1 (SNAT) ── .1.254
//! ```

use std::{
    io::{Read as _, Write as _},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    time::Duration,
};

use lb_agent::dataplane::{AttachMode, Dataplane};
use lb_proto::DesiredState;
use lb_testkit::{Netns, require_root};
use serde_json::json;

/// The addresses of one family (IPv4 in the picture above; IPv6 mirrors it in fd00::/8).
struct Plan {
    client: &'static str,
    lb: &'static str,
    vip: &'static str,
    snat: &'static str,
    r1_lb: &'static str,
    r1_r2: &'static str,
    r2_r1: &'static str,
    r2_member: &'static str,
    member: &'static str,
    member_net: &'static str,
    /// Prefix length of the links.
    len: u8,
}

const V4: Plan = Plan {
    client: "198.18.0.1",
    lb: "198.18.0.2",
    vip: "198.18.0.100",
    snat: "198.18.1.1",
    r1_lb: "198.18.1.254",
    r1_r2: "198.18.3.1",
    r2_r1: "198.18.3.2",
    r2_member: "198.18.2.1",
    member: "198.18.2.11",
    member_net: "198.18.2.0/24",
    len: 24,
};

const V6: Plan = Plan {
    client: "fd00:18::1",
    lb: "fd00:18::2",
    vip: "fd00:18::100",
    snat: "fd00:19::1",
    r1_lb: "fd00:19::fe",
    r1_r2: "fd00:1b::1",
    r2_r1: "fd00:1b::2",
    r2_member: "fd00:1a::1",
    member: "fd00:1a::11",
    member_net: "fd00:1a::/64",
    len: 64,
};
/// Bytes the client uploads: many full-size segments.
const UPLOAD: usize = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

struct Net {
    client: Netns,
    lb: Netns,
    r1: Netns,
    r2: Netns,
    member: Netns,
}

fn net(p: &Plan) -> Net {
    let n = Net {
        client: Netns::new("pmtu-client"),
        lb: Netns::new("pmtu-lb"),
        r1: Netns::new("pmtu-r1"),
        r2: Netns::new("pmtu-r2"),
        member: Netns::new("pmtu-member"),
    };
    n.client.veth("eth0", &n.lb, "eth0");
    n.lb.veth("eth1", &n.r1, "eth0");
    n.r1.veth("eth1", &n.r2, "eth0");
    n.r2.veth("eth1", &n.member, "eth0");
    for (ns, iface) in [(&n.client, "eth0"), (&n.member, "eth0")] {
        ns.no_offload(iface);
    }
    // The narrow link.
    n.r1.ip(&["link", "set", "eth1", "mtu", "1280"]);
    n.r2.ip(&["link", "set", "eth0", "mtu", "1280"]);
    let l = p.len;
    let host = if l == 24 { 32 } else { 128 };
    n.client.addr("eth0", &format!("{}/{l}", p.client));
    n.lb.addr("eth0", &format!("{}/{l}", p.lb));
    n.lb.addr("eth0", &format!("{}/{host}", p.vip));
    n.lb.addr("eth1", &format!("{}/{l}", p.snat));
    n.r1.addr("eth0", &format!("{}/{l}", p.r1_lb));
    n.r1.addr("eth1", &format!("{}/{l}", p.r1_r2));
    n.r2.addr("eth0", &format!("{}/{l}", p.r2_r1));
    n.r2.addr("eth1", &format!("{}/{l}", p.r2_member));
    n.member.addr("eth0", &format!("{}/{l}", p.member));
    n.lb.route(&[p.member_net, "via", p.r1_lb]);
    n.r1.route(&[p.member_net, "via", p.r2_r1]);
    n.r2.route(&["default", "via", p.r1_r2]);
    n.member.route(&["default", "via", p.r2_member]);
    for ns in [&n.lb, &n.r1, &n.r2] {
        ns.sysctl("net.ipv4.ip_forward", "1");
        ns.sysctl("net.ipv6.conf.all.forwarding", "1");
    }
    for iface in ["all", "eth0", "eth1"] {
        n.lb.sysctl(&format!("net.ipv4.conf.{iface}.forwarding"), "1");
    }
    // XDP redirects into these veths' peers: GRO on makes them accept the frames.
    for (ns, iface) in [(&n.client, "eth0"), (&n.r1, "eth0")] {
        ns.exec_ok("ethtool", &["-K", iface, "gro", "on"]);
    }
    n
}

fn state(p: &Plan) -> DesiredState {
    let json = json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": V4.snat, "ipv6": V6.snat, "port_min": 20000, "port_max": 20999},
        "loadbalancers": [{"id": "lb", "vip_address": p.vip,
            "listeners": [{"id": "tcp", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p"}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m", "address": p.member, "protocol_port": 8080}]}]}]
    });
    DesiredState::from_json(json.to_string().as_bytes()).expect("valid state")
}

/// The member: counts the bytes of one upload and answers with the count.
fn upload_counter(member: &Netns, p: &Plan) -> std::thread::JoinHandle<std::io::Result<usize>> {
    let addr = SocketAddr::new(p.member.parse().expect("addr"), 8080);
    let listener = member
        .enter(|| TcpListener::bind(addr))
        .expect("bind member");
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(TIMEOUT))?;
        let mut total = 0;
        let mut buf = vec![0u8; 65536];
        loop {
            match s.read(&mut buf)? {
                0 => break,
                n => total += n,
            }
        }
        s.write_all(format!("{total}\n").as_bytes())?;
        Ok(total)
    })
}

/// Uploads through the VIP; returns the client's `ip route get <VIP>` afterwards.
fn upload_through_narrow_link(p: &Plan) -> String {
    let n = net(p);
    let mut dp = n.lb.enter(|| {
        let mut dp = Dataplane::load().expect("load");
        for iface in ["eth0", "eth1"] {
            dp.attach(iface, AttachMode::Native).expect("attach");
        }
        dp
    });
    dp.apply(&state(p)).expect("apply");
    let server = upload_counter(&n.member, p);

    let answer = n.client.enter(|| -> std::io::Result<String> {
        let target = SocketAddr::new(p.vip.parse().expect("addr"), 80);
        let mut s = TcpStream::connect_timeout(&target, TIMEOUT)?;
        s.set_write_timeout(Some(TIMEOUT))?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.write_all(&vec![0x5a; UPLOAD])?;
        s.shutdown(Shutdown::Write)?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    });
    let route = n.client.ip(&["route", "get", p.vip]);
    let counters = dp.counters().expect("counters");
    let answer = answer.unwrap_or_else(|e| {
        panic!("upload failed: {e}; client route: {route}; counters: {counters:?}")
    });
    assert_eq!(
        answer.trim(),
        UPLOAD.to_string(),
        "member got another count"
    );
    assert_eq!(
        server.join().expect("server thread").expect("server"),
        UPLOAD
    );
    route
}

#[test]
fn a_full_size_upload_through_a_narrow_member_side_link_completes() {
    require_root!();
    let route = upload_through_narrow_link(&V4);
    // The client learnt the narrow link's MTU from the translated "fragmentation needed".
    assert!(
        route.contains("mtu 1280"),
        "client has no path MTU for the VIP: {route}"
    );
}

#[test]
fn an_ipv6_upload_through_a_narrow_member_side_link_completes() {
    require_root!();
    let route = upload_through_narrow_link(&V6);
    // The client learnt the narrow link's MTU from the translated "packet too big".
    assert!(
        route.contains("mtu 1280"),
        "client has no path MTU for the VIP: {route}"
    );
}
