//! The L7 proxy's member side end to end: PROXY-protocol pools, member connections kept
//! alive across client connections, retries on a refusing member (turn-around pause, the
//! last one to another member), bodies stalled past the data timeouts, and upgraded
//! connections tunnelled to the member (`lb-agent run --state` in the lb namespace, raw
//! and echo members in member namespaces, curl and raw sockets as clients).

mod proxy_support;

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use lb_testkit::{
    LbTopology, require_root, servers,
    topology::{SNAT_V4, VIP_V4, member_v4},
};
use proxy_support::*;
use serde_json::json;

/// A member that reads a PROXY header (v1 or v2) and answers with the client address it
/// names: as an HTTP response (`http`) or a plain line.
fn proxy_member(
    ns: &lb_testkit::Netns,
    addr: SocketAddr,
    http: bool,
) -> std::thread::JoinHandle<()> {
    let listener = ns
        .enter(|| std::net::TcpListener::bind(addr))
        .expect("bind");
    std::thread::spawn(move || {
        for _ in 0..4 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_secs(3)))
                .expect("timeout");
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let head_done = got.windows(4).any(|w| w == b"\r\n\r\n");
                if (http && head_done) || (!http && got.len() >= 16) {
                    break;
                }
            }
            let named = match ppp::HeaderResult::parse(&got) {
                ppp::HeaderResult::V1(Ok(h)) => format!("v1 {:?}", h.addresses),
                ppp::HeaderResult::V2(Ok(h)) => format!("v2 {:?}", h.addresses),
                _ => "no proxy header".to_owned(),
            };
            let answer = if http {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{named}",
                    named.len()
                )
            } else {
                format!("{named}\n")
            };
            let _ = s.write_all(answer.as_bytes());
        }
    })
}

#[test]
fn proxy_protocol_pools_name_the_client_to_the_member() {
    require_root!();
    let topo = LbTopology::new(2);
    let http_member = proxy_member(
        &topo.members[0],
        format!("{}:80", member_v4(0)).parse().expect("a"),
        true,
    );
    let tcp_member = proxy_member(
        &topo.members[1],
        format!("{}:9000", member_v4(1)).parse().expect("a"),
        false,
    );
    let s = json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [
                {"id": "web", "protocol": "HTTP", "protocol_port": 80, "default_pool_id": "p1"},
                {"id": "raw", "protocol": "TCP", "protocol_port": 9000, "default_pool_id": "p2"}
            ],
            "pools": [
                {"id": "p1", "protocol": "PROXY", "lb_algorithm": "ROUND_ROBIN", "members": [member(0, 80)]},
                {"id": "p2", "protocol": "PROXYV2", "lb_algorithm": "ROUND_ROBIN", "members": [member(1, 9000)]}
            ]}]
    });
    let _agent = Agent::start(&topo, &s);
    eventually("the HTTP listener answers", || {
        get(&topo, "/", &[]).starts_with("v1")
    });
    let body = get(&topo, "/", &[]);
    assert!(
        body.contains("198.18.0.1") && body.contains("198.18.0.100"),
        "{body}"
    );
    let vip: SocketAddr = format!("{VIP_V4}:9000").parse().expect("vip");
    let line = topo.client.enter(|| {
        let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(2)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    assert!(
        line.starts_with("v2") && line.contains("198.18.0.1") && line.contains("9000"),
        "{line:?}"
    );
    drop((http_member, tcp_member));
}

#[test]
fn member_connections_are_kept_alive_across_client_connections() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
                          "default_pool_id": "pool1"});
    let pools = json!([{"id": "pool1", "lb_algorithm": "ROUND_ROBIN", "protocol": "HTTP",
                        "members": [member(0, 80)]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    eventually("the listener to answer", || {
        first_line(&get(&topo, "/", &[])) == "you hit: webserver1"
    });
    // 20 client connections one after the other (one curl each): the member sees the
    // proxy's kept-alive connections again, at most one per proxy worker (each worker keeps
    // its own), not one per client connection.
    let mut peers = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let body = get(&topo, "/", &[]);
        let peer = body
            .lines()
            .find_map(|l| l.strip_prefix("peer: "))
            .unwrap_or_else(|| panic!("no peer line in {body:?}"));
        peers.insert(peer.to_owned());
    }
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        peers.len() <= workers,
        "{} member connections for 20 requests ({workers} workers): {peers:?}",
        peers.len()
    );
    // A response without a body (HEAD) gives the connection back too.
    for _ in 0..5 {
        let out = get(&topo, "/", &["-I", "-o", "/dev/null", "-w", "%{http_code}"]);
        assert_eq!(out, "200");
    }
    let after = get(&topo, "/", &[]);
    let peer = after
        .lines()
        .find_map(|l| l.strip_prefix("peer: "))
        .unwrap_or_default()
        .to_owned();
    peers.insert(peer);
    assert!(
        peers.len() <= workers,
        "HEAD requests left connections behind: {peers:?}"
    );
}

/// A member that answers the head of a 1,000-byte response and 10 bytes of it, then holds the
/// connection silent for 6 s (at most `accepts` connections).
fn stalling_member(
    ns: &lb_testkit::Netns,
    addr: SocketAddr,
    accepts: usize,
) -> std::thread::JoinHandle<()> {
    raw_member(ns, addr, accepts, |mut s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
        std::thread::sleep(Duration::from_secs(6));
    })
}

#[test]
fn stalled_bodies_are_cut_after_the_listeners_data_timeouts() {
    require_root!();
    let topo = LbTopology::new(2);
    let _web = servers::http_echo(
        &topo.members[0],
        format!("{}:80", member_v4(0)).parse().expect("addr"),
        "webserver1",
    );
    let stalling = stalling_member(
        &topo.members[1],
        format!("{}:80", member_v4(1)).parse().expect("addr"),
        1,
    );
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p", "timeout_client_data": 1000, "timeout_member_data": 1000,
        "l7policies": [{"id": "stall", "position": 1, "action": "REDIRECT_TO_POOL",
            "redirect_pool_id": "s",
            "rules": [{"id": "r", "type": "PATH", "compare_type": "STARTS_WITH", "value": "/stall"}]}]});
    let pools = json!([
        {"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [member(0, 80)]},
        {"id": "s", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
         "members": [{"id": "m2", "address": member_v4(1), "protocol_port": 80}]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });

    // The member stops in the middle of its body: the client's transfer is cut after about
    // timeout_member_data (curl: partial file), not after the member's 6 s.
    let started = Instant::now();
    let out = topo.client.exec(
        "curl",
        &[
            "-s",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            &format!("http://{VIP_V4}/stall"),
        ],
    );
    let took = started.elapsed();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200 10");
    assert_eq!(
        out.status.code(),
        Some(18),
        "curl should report a partial transfer"
    );
    assert!(
        took < Duration::from_secs(4),
        "the stalled body was held for {took:?}"
    );

    // The client stops in the middle of its body: 408 after about timeout_client_data.
    let vip: SocketAddr = format!("{VIP_V4}:80").parse().expect("vip");
    let (answer, took) = topo.client.enter(|| {
        let started = Instant::now();
        let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(2)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(6)))
            .expect("timeout");
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            .expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        (
            String::from_utf8_lossy(&out).into_owned(),
            started.elapsed(),
        )
    });
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        took < Duration::from_secs(4),
        "the stalled request was held for {took:?}"
    );

    // Others are still served.
    assert!(get(&topo, "/", &[]).starts_with("you hit: webserver1"));
    drop(_agent);
    let _ = stalling.join();
}

/// A member that switches to protocol `echo` when asked (`Connection: upgrade`,
/// `Upgrade: echo`), then echoes every byte; it answers 400 to a request not asking for it.
/// Serves `accepts` connections.
fn upgrading_member(
    ns: &lb_testkit::Netns,
    addr: SocketAddr,
    accepts: usize,
) -> std::thread::JoinHandle<()> {
    raw_member(ns, addr, accepts, |mut s, head| {
        let text = head.to_ascii_lowercase();
        if !(text.contains("\r\nupgrade: echo\r\n") && text.contains("\r\nconnection: upgrade\r\n"))
        {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let _ = s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        );
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    })
}

#[test]
fn upgraded_connections_become_tunnels_to_the_member() {
    require_root!();
    let topo = LbTopology::new(1);
    let member_thread = upgrading_member(
        &topo.members[0],
        format!("{}:80", member_v4(0)).parse().expect("addr"),
        3,
    );
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p", "timeout_client_data": 1000, "timeout_member_data": 1000});
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 80)]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    let vip: SocketAddr = format!("{VIP_V4}:80").parse().expect("vip");
    let open = || -> Option<TcpStream> {
        topo.client
            .enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(2)).ok())
    };
    let read_head = |s: &mut TcpStream| -> String {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    };
    // A plain request reaches the member without upgrade headers (it answers 400).
    let mut plain = None;
    eventually("the proxy answers", || {
        plain = open();
        plain.is_some()
    });
    let mut plain = plain.expect("connected");
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n\r\n")
        .expect("write");
    assert!(
        read_head(&mut plain).starts_with("HTTP/1.1 400"),
        "Upgrade without Connection: upgrade crossed"
    );

    // An upgrade: 101 with the member's protocol, then bytes both ways through the tunnel.
    let mut s = open().expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .expect("write");
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head:?}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("upgrade: echo") && lower.contains("connection: upgrade"),
        "{head:?}"
    );
    for message in [&b"ping"[..], b"a second message, longer"] {
        s.write_all(message).expect("write");
        let mut back = vec![0u8; message.len()];
        s.read_exact(&mut back).expect("echo");
        assert_eq!(back, message);
    }
    // An idle tunnel ends after the data timeouts (HAProxy's client/server timeouts apply
    // to tunnels when `timeout tunnel` is not set).
    let mut idle = open().expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    idle.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .expect("write");
    assert!(read_head(&mut idle).starts_with("HTTP/1.1 101"));
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let end = idle.read(&mut byte);
    let took = started.elapsed();
    assert!(matches!(end, Ok(0)), "an idle tunnel stayed open: {end:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "the idle tunnel ended after {took:?}"
    );
    // The tunnel ends when the client closes: the member's side sees the end.
    drop(s);
    drop(plain);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !member_thread.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the member's side of the tunnel stayed open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_refusing_member_is_retried_after_a_pause_and_the_last_try_goes_to_another() {
    require_root!();
    let topo = LbTopology::new(2);
    // Only the second member serves; nothing listens on the first one's port.
    let _web = servers::http_echo(
        &topo.members[1],
        format!("{}:80", member_v4(1)).parse().expect("addr"),
        "webserver2",
    );
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p", "timeout_member_connect": 300});
    let both = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 81), member(1, 80)]}]);
    let mut agent = Agent::start(&topo, &state(listener.clone(), both));
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });
    // Every request is answered by the serving member; those that tried the refusing one
    // first waited two turn-around pauses (2 × 300 ms) before the redispatch.
    let mut slow = 0;
    for _ in 0..6 {
        let started = Instant::now();
        let answer = get(&topo, "/", &[]);
        assert!(answer.starts_with("you hit: webserver2"), "{answer:?}");
        if started.elapsed() >= Duration::from_millis(600) {
            slow += 1;
        }
    }
    assert!(
        slow >= 2,
        "round robin sent {slow} of 6 requests to the refusing member first"
    );
    // A pool whose only member refuses: 502 after three pauses.
    let one = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 81)]}]);
    agent.reload(&state(listener, one));
    eventually("the pool lost its serving member", || {
        get(&topo, "/", &["-o", "/dev/null", "-w", "%{http_code}"]) == "502"
    });
    let started = Instant::now();
    let code = get(&topo, "/", &["-o", "/dev/null", "-w", "%{http_code}"]);
    let took = started.elapsed();
    assert_eq!(code, "502");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "502 after {took:?}"
    );
}
