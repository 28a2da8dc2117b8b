//! Real traffic through the XDP data plane: a client namespace connects to VIPs on the lb
//! namespace, which balances to member namespaces running real TCP/UDP servers (full NAT both
//! ways, next hops resolved through the TC fallback on first use).

use std::{
    collections::HashMap,
    io::{BufRead as _, BufReader, Write as _},
    net::{IpAddr, SocketAddr, TcpStream},
    time::Duration,
};

use lb_agent::dataplane::{AttachMode, Dataplane};
use lb_proto::DesiredState;
use lb_testkit::{
    LbTopology, require_root,
    servers::{self, Server},
    topology::{SNAT_V4, SNAT_V6, VIP_V4, VIP_V6, member_v4, member_v6},
};
use serde_json::{Value, json};
use socket2::{Domain, Socket, Type};

const TIMEOUT: Duration = Duration::from_secs(3);

struct Rig {
    topo: LbTopology,
    dp: Dataplane,
    _servers: Vec<Server>,
}

/// Members as `(index, weight)`; extra fields merged into every listener.
fn state(algorithm: &str, members: &[(usize, u16)], listener: Value) -> Value {
    let pool = |id: &str, v6: bool| {
        let ms: Vec<Value> = members
            .iter()
            .map(|&(i, w)| {
                json!({"id": format!("{id}-m{}", i + 1),
                       "address": if v6 { member_v6(i) } else { member_v4(i) },
                       "protocol_port": 8080, "weight": w})
            })
            .collect();
        json!({"id": id, "lb_algorithm": algorithm, "members": ms})
    };
    let with = |mut l: Value| {
        if let (Some(l), Some(extra)) = (l.as_object_mut(), listener.as_object()) {
            for (k, v) in extra {
                l.insert(k.clone(), v.clone());
            }
        }
        l
    };
    let mut udp_pool = pool("udp", false);
    for m in udp_pool["members"].as_array_mut().into_iter().flatten() {
        m["protocol_port"] = json!(5353);
    }
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4, "ipv6": SNAT_V6, "port_min": 20000, "port_max": 29999},
        "loadbalancers": [
            {"id": "lb4", "vip_address": VIP_V4,
             "listeners": [
                with(json!({"id": "tcp80", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "web"})),
                with(json!({"id": "udp53", "protocol": "UDP", "protocol_port": 53, "default_pool_id": "udp"}))],
             "pools": [pool("web", false), udp_pool]},
            {"id": "lb6", "vip_address": VIP_V6,
             "listeners": [with(json!({"id": "tcp80v6", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "web6"}))],
             "pools": [pool("web6", true)]}
        ]
    })
}

fn apply(dp: &mut Dataplane, state: &Value) {
    let state = DesiredState::from_json(state.to_string().as_bytes()).expect("valid state");
    dp.apply(&state).expect("apply");
}

fn rig(members: usize, initial: &Value) -> Rig {
    let topo = LbTopology::new(members);
    let mut dp = topo.lb.enter(|| {
        let mut dp = Dataplane::load().expect("load");
        for iface in ["eth0", "eth1"] {
            dp.attach(iface, AttachMode::Native).expect("attach");
        }
        dp
    });
    for (ns, iface) in topo.redirect_peers() {
        ns.enter(|| dp.attach_pass(iface))
            .expect("attach lb_pass to a redirect peer");
    }
    apply(&mut dp, initial);
    let mut servers = Vec::new();
    for (i, ns) in topo.members.iter().enumerate() {
        let name = format!("m{}", i + 1);
        let v4: IpAddr = member_v4(i).parse().expect("addr");
        let v6: IpAddr = member_v6(i).parse().expect("addr");
        servers.push(servers::tcp(ns, SocketAddr::new(v4, 8080), &name));
        servers.push(servers::tcp(ns, SocketAddr::new(v6, 8080), &name));
        servers.push(servers::udp(ns, SocketAddr::new(v4, 5353), &name));
    }
    Rig {
        topo,
        dp,
        _servers: servers,
    }
}

/// Opens a connection from the client namespace (optionally from a given source address).
fn connect(rig: &Rig, vip: &str, from: Option<&str>) -> std::io::Result<(TcpStream, String)> {
    let target = SocketAddr::new(vip.parse().expect("vip"), 80);
    rig.topo.client.enter(|| {
        let socket = Socket::new(Domain::for_address(target), Type::STREAM, None)?;
        if let Some(src) = from {
            let src = SocketAddr::new(src.parse().expect("source"), 0);
            socket.bind(&src.into())?;
        }
        socket.connect_timeout(&target.into(), TIMEOUT)?;
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut line = String::new();
        BufReader::new(stream.try_clone()?).read_line(&mut line)?;
        Ok((stream, line.trim().to_owned()))
    })
}

/// One request: which member answered.
fn hit(rig: &Rig, vip: &str, from: Option<&str>) -> String {
    connect(rig, vip, from)
        .unwrap_or_else(|e| panic!("request to {vip} from {from:?}: {e}\n{}", diagnostics(rig)))
        .1
}

/// The data plane's counters, for failure messages.
fn diagnostics(rig: &Rig) -> String {
    let c = rig.dp.counters().expect("counters");
    let mut out = String::from("data plane counters:");
    for class in lb_common::stats::PacketClass::ALL {
        out += &format!(" {}={}", class.as_str(), c.class(class).packets);
    }
    for reason in lb_common::drop::DropReason::ALL {
        if c.dropped(reason).packets > 0 {
            out += &format!(" drop:{}={}", reason.as_str(), c.dropped(reason).packets);
        }
    }
    out
}

fn tally(rig: &Rig, n: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        *counts.entry(hit(rig, VIP_V4, None)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn round_robin_spreads_300_requests_by_weight() {
    require_root!();
    let rig = rig(
        3,
        &state("ROUND_ROBIN", &[(0, 1), (1, 2), (2, 3)], json!({})),
    );
    let counts = tally(&rig, 300);
    for (member, weight) in [("m1", 1.0), ("m2", 2.0), ("m3", 3.0)] {
        let expected = 300.0 * weight / 6.0;
        let got = counts.get(member).copied().unwrap_or(0) as f64;
        assert!(
            (got - expected).abs() <= expected * 0.1,
            "{member}: {got} of 300, expected {expected} ± 10 % ({counts:?})"
        );
    }
    let stats = rig
        .dp
        .listener_stats("tcp80")
        .expect("stats")
        .expect("listener");
    assert_eq!(stats.traffic.opened, 300);
    assert!(stats.traffic.bytes_in > 0 && stats.traffic.bytes_out > 0);
}

#[test]
fn source_ip_keeps_sources_and_remaps_few_when_a_member_goes() {
    require_root!();
    let mut rig = rig(3, &state("SOURCE_IP", &[(0, 1), (1, 1), (2, 1)], json!({})));
    let sources: Vec<String> = (101..=200).map(|i| format!("198.18.0.{i}")).collect();
    for s in &sources {
        rig.topo.client.addr("eth0", &format!("{s}/24"));
    }
    let first: Vec<String> = sources.iter().map(|s| hit(&rig, VIP_V4, Some(s))).collect();
    for (s, m) in sources.iter().zip(&first) {
        assert_eq!(&hit(&rig, VIP_V4, Some(s)), m, "source {s} changed member");
    }
    assert!(first.iter().any(|m| m == "m1") && first.iter().any(|m| m == "m3"));
    apply(
        &mut rig.dp,
        &state("SOURCE_IP", &[(0, 1), (2, 1)], json!({})),
    );
    let moved = sources
        .iter()
        .zip(&first)
        .filter(|(s, m)| {
            let now = hit(&rig, VIP_V4, Some(s));
            assert_ne!(now, "m2", "removed member still chosen");
            &&now != m
        })
        .count();
    let on_m2 = first.iter().filter(|m| *m == "m2").count();
    assert!(
        moved >= on_m2 && moved <= 50,
        "{moved} of 100 sources moved ({on_m2} were on m2)"
    );
}

#[test]
fn udp_and_ipv6_requests_get_answers() {
    require_root!();
    let rig = rig(2, &state("ROUND_ROBIN", &[(0, 1), (1, 1)], json!({})));
    let answers: Vec<String> = rig.topo.client.enter(|| {
        let s = std::net::UdpSocket::bind("198.18.0.1:0").expect("bind");
        s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        (0..4)
            .map(|i| {
                s.send_to(format!("q{i}").as_bytes(), (VIP_V4, 53))
                    .expect("send");
                let mut buf = [0u8; 64];
                let (n, from) = s
                    .recv_from(&mut buf)
                    .unwrap_or_else(|e| panic!("answer {i}: {e}"));
                assert_eq!(
                    from.to_string(),
                    format!("{VIP_V4}:53"),
                    "answer not from the VIP"
                );
                String::from_utf8_lossy(&buf[..n]).into_owned()
            })
            .collect()
    });
    assert!(
        answers
            .iter()
            .all(|a| a.ends_with(":q0") || a.contains(":q")),
        "{answers:?}"
    );
    let v6: Vec<String> = (0..4).map(|_| hit(&rig, VIP_V6, None)).collect();
    assert!(
        v6.contains(&"m1".to_owned()) && v6.contains(&"m2".to_owned()),
        "{v6:?}"
    );
}

#[test]
fn drain_keeps_established_flows_and_stops_new_ones() {
    require_root!();
    let mut rig = rig(2, &state("ROUND_ROBIN", &[(0, 1), (1, 1)], json!({})));
    let (mut held, member) = loop {
        let (s, m) = connect(&rig, VIP_V4, None).expect("connect");
        if m == "m1" {
            break (s, m);
        }
    };
    apply(
        &mut rig.dp,
        &state("ROUND_ROBIN", &[(0, 0), (1, 1)], json!({})),
    );
    for _ in 0..10 {
        assert_eq!(
            hit(&rig, VIP_V4, None),
            "m2",
            "new flow to a drained member"
        );
    }
    // The established connection to m1 still carries data both ways.
    held.write_all(b"still there\n")
        .expect("write on drained flow");
    let mut echo = String::new();
    BufReader::new(held)
        .read_line(&mut echo)
        .expect("echo on drained flow");
    assert_eq!((member.as_str(), echo.trim()), ("m1", "still there"));
}

#[test]
fn least_connections_avoids_the_busy_member() {
    require_root!();
    let mut rig = rig(2, &state("LEAST_CONNECTIONS", &[(0, 1)], json!({})));
    let held: Vec<TcpStream> = (0..5)
        .map(|_| connect(&rig, VIP_V4, None).expect("connect").0)
        .collect();
    apply(
        &mut rig.dp,
        &state("LEAST_CONNECTIONS", &[(0, 1), (1, 1)], json!({})),
    );
    for _ in 0..10 {
        assert_eq!(
            hit(&rig, VIP_V4, None),
            "m2",
            "least connections chose the member holding 5"
        );
    }
    drop(held);
}

#[test]
fn connection_limit_refuses_the_flow_beyond_it() {
    require_root!();
    let rig = rig(
        1,
        &state("ROUND_ROBIN", &[(0, 1)], json!({"connection_limit": 2})),
    );
    let a = connect(&rig, VIP_V4, None).expect("first");
    let _b = connect(&rig, VIP_V4, None).expect("second");
    assert!(
        connect(&rig, VIP_V4, None).is_err(),
        "a third concurrent connection got through"
    );
    drop(a);
    // The close is seen by the data plane; a new connection fits again.
    let mut ok = false;
    for _ in 0..20 {
        if connect(&rig, VIP_V4, None).is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok, "no connection accepted after one closed");
}
