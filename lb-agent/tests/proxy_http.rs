//! The L7 proxy end to end: `lb-agent run --state` in the lb namespace serves HTTP listeners
//! (bound to the VIP, passed up by XDP) in front of real HTTP servers in member namespaces;
//! curl in the client namespace is the client. Covers balancing, inserted headers, L7
//! policies, HTTP/2 (h2c), persistence, a member change under 200 keep-alive clients, and
//! slow, oversized and garbage requests.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use lb_testkit::{
    LbTopology, NsProcess, require_root, servers,
    topology::{SNAT_V4, VIP_V4, member_v4},
};
use serde_json::{Value, json};

/// The agent running a state file, re-applied with SIGHUP.
struct Agent {
    file: PathBuf,
    process: NsProcess,
}

impl Agent {
    fn start(topo: &LbTopology, state: &Value) -> Self {
        let file = std::env::temp_dir().join(format!(
            "lbt-{}-{}-proxy.json",
            std::process::id(),
            topo.lb.name()
        ));
        std::fs::write(&file, state.to_string()).expect("write state");
        let path = file.to_string_lossy().into_owned();
        let process = topo.lb.spawn(
            env!("CARGO_BIN_EXE_lb-agent"),
            &[
                "run",
                "--state",
                &path,
                "--iface",
                "eth0",
                "--iface",
                "eth1",
                "--interval",
                "0",
                "--no-pin",
            ],
        );
        Self { file, process }
    }

    fn reload(&mut self, state: &Value) {
        std::fs::write(&self.file, state.to_string()).expect("write state");
        let pid = self.process.child().id().to_string();
        lb_testkit::cmd::run("kill", &["-HUP", &pid]);
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.file) {
            eprintln!("cleanup: {}: {e}", self.file.display());
        }
    }
}

fn member(i: usize, port: u16) -> Value {
    json!({"id": format!("m{}", i + 1), "address": member_v4(i), "protocol_port": port})
}

fn state(listener: Value, pools: Value) -> Value {
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [listener], "pools": pools}]
    })
}

/// curl in the client namespace; returns stdout (`-w` output included).
fn curl(topo: &LbTopology, args: &[&str]) -> String {
    let mut full = vec!["-s", "--max-time", "5"];
    full.extend_from_slice(args);
    let out = topo.client.exec("curl", &full);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get(topo: &LbTopology, path: &str, extra: &[&str]) -> String {
    let url = format!("http://{VIP_V4}{path}");
    let mut args = extra.to_vec();
    args.push(&url);
    curl(topo, &args)
}

/// Polls until `check` holds, for at most 15 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or_default()
}

fn echo_servers(topo: &LbTopology, port: u16) -> Vec<servers::Server> {
    (0..topo.members.len())
        .map(|i| {
            let addr: SocketAddr = format!("{}:{port}", member_v4(i)).parse().expect("addr");
            servers::http_echo(&topo.members[i], addr, &format!("webserver{}", i + 1))
        })
        .collect()
}

#[test]
fn http_listener_balances_inserts_headers_and_follows_l7_policies() {
    require_root!();
    let topo = LbTopology::new(3);
    let _web = echo_servers(&topo, 80);
    let _api = echo_servers(&topo, 8080);
    let listener = json!({
        "id": "web", "protocol": "HTTP", "protocol_port": 80, "default_pool_id": "pool1",
        "insert_headers": {"X-Forwarded-For": "true", "X-Forwarded-Port": "true",
                           "X-Forwarded-Proto": "true"},
        "l7policies": [
            {"id": "to-api", "position": 1, "action": "REDIRECT_TO_POOL", "redirect_pool_id": "api",
             "rules": [{"id": "r1", "type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}]},
            {"id": "moved", "position": 2, "action": "REDIRECT_TO_URL",
             "redirect_url": "http://www.example.com/new", "redirect_http_code": 301,
             "rules": [{"id": "r2", "type": "HOST_NAME", "compare_type": "EQUAL_TO", "value": "old.example.com"}]},
            {"id": "block", "position": 3, "action": "REJECT",
             "rules": [{"id": "r3", "type": "HEADER", "key": "X-Block", "compare_type": "EQUAL_TO", "value": "yes"}]},
            {"id": "prefix", "position": 4, "action": "REDIRECT_PREFIX", "redirect_prefix": "https://secure.example.com",
             "rules": [{"id": "r4", "type": "PATH", "compare_type": "STARTS_WITH", "value": "/login"}]}
        ]
    });
    let pools = json!([
        {"id": "pool1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
         "members": [member(0, 80), member(1, 80)]},
        {"id": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [member(2, 8080)]}
    ]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });

    // Round robin over both members of the default pool.
    let hits: Vec<String> = (0..10)
        .map(|_| first_line(&get(&topo, "/", &[])).to_owned())
        .collect();
    assert_eq!(
        hits.iter().filter(|h| *h == "you hit: webserver1").count(),
        5,
        "{hits:?}"
    );
    assert_eq!(
        hits.iter().filter(|h| *h == "you hit: webserver2").count(),
        5,
        "{hits:?}"
    );

    // Inserted headers name the client and the listener.
    let body = get(&topo, "/", &[]);
    assert!(body.contains("x-forwarded-for: 198.18.0.1"), "{body}");
    assert!(body.contains("x-forwarded-port: 80"), "{body}");
    assert!(body.contains("x-forwarded-proto: http"), "{body}");

    // REDIRECT_TO_POOL by path prefix.
    assert_eq!(
        first_line(&get(&topo, "/api/v1", &[])),
        "you hit: webserver3"
    );
    assert!(
        get(&topo, "/apx", &[]).contains("webserver1")
            || get(&topo, "/apx", &[]).contains("webserver2")
    );

    // REDIRECT_TO_URL by host name (case-insensitive), with its code.
    let r = get(
        &topo,
        "/x",
        &[
            "-H",
            "Host: OLD.example.com",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ],
    );
    assert_eq!(r, "301 http://www.example.com/new");

    // REJECT by header.
    let r = get(
        &topo,
        "/",
        &[
            "-H",
            "X-Block: yes",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ],
    );
    assert_eq!(r, "403");
    let r = get(
        &topo,
        "/",
        &["-H", "X-Block: no", "-o", "/dev/null", "-w", "%{http_code}"],
    );
    assert_eq!(r, "200");

    // REDIRECT_PREFIX keeps path and query; the default code is 302.
    let r = get(
        &topo,
        "/login?next=/a",
        &["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"],
    );
    assert_eq!(r, "302 https://secure.example.com/login?next=/a");

    // HTTP/2 with prior knowledge (h2c) reaches the members too.
    let r = get(
        &topo,
        "/api/h2",
        &["--http2-prior-knowledge", "-w", "\n%{http_version}"],
    );
    assert!(
        r.starts_with("you hit: webserver3") && r.ends_with("\n2"),
        "{r}"
    );
}

#[test]
fn cookie_persistence_sticks_for_50_requests_and_moves_when_the_member_goes() {
    require_root!();
    let topo = LbTopology::new(2);
    let _web = echo_servers(&topo, 80);
    let listener =
        json!({"id": "web", "protocol": "HTTP", "protocol_port": 80, "default_pool_id": "p"});
    let pools = |persistence: Value, m1_up: bool| {
        json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "session_persistence": persistence,
        "members": [
            {"id": "m1", "address": member_v4(0), "protocol_port": 80, "admin_state_up": m1_up},
            member(1, 80)
        ]}])
    };
    let http_cookie = json!({"type": "HTTP_COOKIE"});
    let mut agent = Agent::start(
        &topo,
        &state(listener.clone(), pools(http_cookie.clone(), true)),
    );
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });

    // HTTP_COOKIE: the first answer sets SRV; the 50 requests carrying it stay.
    let jar = std::env::temp_dir().join(format!("lbt-{}-jar", std::process::id()));
    let jar = jar.to_string_lossy().into_owned();
    let first = get(&topo, "/", &["-c", &jar]);
    let who = first_line(&first).to_owned();
    let cookie = std::fs::read_to_string(&jar).unwrap_or_default();
    assert!(cookie.contains("SRV"), "no SRV cookie set: {cookie}");
    for _ in 0..50 {
        let body = get(&topo, "/", &["-b", &jar]);
        assert_eq!(first_line(&body), who, "persistence broken");
        assert!(
            !body.contains("SRV="),
            "the member saw the SRV cookie: {body}"
        );
    }
    // m1 disabled: requests with m1's cookie move to m2.
    let m1 = if who == "you hit: webserver1" {
        "SRV=m1"
    } else {
        "SRV=m2"
    };
    if m1 == "SRV=m1" {
        agent.reload(&state(listener.clone(), pools(http_cookie, false)));
        eventually("requests move off the disabled member", || {
            first_line(&get(&topo, "/", &["-b", m1])) == "you hit: webserver2"
        });
    }
    let _ = std::fs::remove_file(&jar);

    // APP_COOKIE: the member's own cookie is learned from its answer.
    let app = json!({"type": "APP_COOKIE", "cookie_name": "JSESSIONID"});
    agent.reload(&state(listener, pools(app, true)));
    std::thread::sleep(Duration::from_millis(500));
    // Whoever answers sets JSESSIONID=s1; all later requests with it go to that member.
    let first = get(&topo, "/?set-cookie=JSESSIONID=s1", &[]);
    let who = first_line(&first).to_owned();
    for _ in 0..50 {
        assert_eq!(first_line(&get(&topo, "/", &["-b", "JSESSIONID=s1"])), who);
    }
    let others: std::collections::BTreeSet<String> = (0..10)
        .map(|_| first_line(&get(&topo, "/", &["-b", "JSESSIONID=unknown"])).to_owned())
        .collect();
    assert_eq!(
        others.len(),
        2,
        "an unknown session is balanced: {others:?}"
    );
}

#[test]
fn a_member_change_under_200_keep_alive_clients_loses_no_request() {
    require_root!();
    let topo = LbTopology::new(3);
    let _web = echo_servers(&topo, 80);
    let listener =
        json!({"id": "web", "protocol": "HTTP", "protocol_port": 80, "default_pool_id": "p"});
    let pools = |members: Vec<Value>| json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS", "members": members}]);
    let mut agent = Agent::start(
        &topo,
        &state(listener.clone(), pools(vec![member(0, 80), member(1, 80)])),
    );
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });

    // 4,000 requests over 200 parallel keep-alive connections while members change.
    let client = topo.client.name().to_owned();
    let load = std::thread::spawn(move || {
        let url = format!("http://{VIP_V4}/slow/20?n=[1-4000]");
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &client,
                "curl",
                "-s",
                "-Z",
                "--parallel-max",
                "200",
                "--max-time",
                "30",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}\n",
                &url,
            ])
            .output()
            .expect("curl")
    });
    let changes = [
        vec![member(0, 80), member(1, 80), member(2, 80)],
        vec![member(1, 80), member(2, 80)],
        vec![
            json!({"id": "m2", "address": member_v4(1), "protocol_port": 80, "weight": 0}),
            member(2, 80),
        ],
        vec![member(0, 80), member(2, 80)],
    ];
    for (i, members) in changes.into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(300));
        let mut s = state(listener.clone(), pools(members));
        s["generation"] = json!(i + 2);
        agent.reload(&s);
    }
    let out = load.join().expect("load thread");
    let codes = String::from_utf8_lossy(&out.stdout);
    let total = codes.lines().count();
    let ok = codes.lines().filter(|c| *c == "200").count();
    assert_eq!(
        total,
        4000,
        "curl stopped early: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ok,
        4000,
        "requests lost during the change: {} of {total} not 200",
        total - ok
    );
}

#[test]
fn slow_oversized_and_garbage_requests_are_answered_or_closed_and_others_still_served() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p", "timeout_client_data": 1500, "timeout_member_data": 1000,
        "timeout_member_connect": 500});
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [member(0, 80)]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });
    let vip: SocketAddr = format!("{VIP_V4}:80").parse().expect("vip");
    let exchange = |bytes: &[u8], wait: Duration| -> (String, Duration) {
        topo.client.enter(|| {
            let started = Instant::now();
            let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(2)).expect("connect");
            s.set_read_timeout(Some(wait)).expect("timeout");
            let _ = s.write_all(bytes);
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            (
                String::from_utf8_lossy(&out).into_owned(),
                started.elapsed(),
            )
        })
    };

    // Slowloris: a request head that never ends is closed after the client timeout.
    let (answer, took) = exchange(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_secs(6),
    );
    assert!(
        took < Duration::from_secs(5),
        "a slow client held its connection for {took:?}"
    );
    assert!(!answer.contains("you hit"), "{answer}");
    // Garbage request line: 400.
    let (answer, _) = exchange(b"\x01\x02 garbage\r\n\r\n", Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    // Oversized header: refused (431), never forwarded.
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    let (answer, _) = exchange(&big, Duration::from_secs(3));
    assert!(
        !answer.contains("you hit"),
        "an oversized request reached the member"
    );
    assert!(
        answer.is_empty()
            || answer.starts_with("HTTP/1.1 431")
            || answer.starts_with("HTTP/1.1 400"),
        "{answer:?}"
    );
    // A member slower than timeout_member_data: 504.
    let r = get(
        &topo,
        "/slow/3000",
        &["-o", "/dev/null", "-w", "%{http_code}"],
    );
    assert_eq!(r, "504");
    // And others are still served.
    assert!(get(&topo, "/", &[]).starts_with("you hit: webserver1"));
}

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

/// A raw member at `addr` in `ns` for `accepts` connections, one after the other: reads each
/// request head (up to its blank line, 5 s at most) and hands the connection and the head to
/// `serve`.
fn raw_member(
    ns: &lb_testkit::Netns,
    addr: SocketAddr,
    accepts: usize,
    serve: impl Fn(TcpStream, String) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let listener = ns
        .enter(|| std::net::TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    std::thread::spawn(move || {
        for _ in 0..accepts {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut head = Vec::new();
            let mut buf = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(1) => head.push(buf[0]),
                    _ => break,
                }
            }
            serve(s, String::from_utf8_lossy(&head).into_owned());
        }
    })
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
        2,
    );
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p"});
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
