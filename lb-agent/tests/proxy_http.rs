//! The L7 proxy end to end: `lb-agent run --state` in the lb namespace serves HTTP listeners
//! (bound to the VIP, passed up by XDP) in front of real HTTP servers in member namespaces;
//! curl in the client namespace is the client. Covers balancing, inserted headers, L7
//! policies, HTTP/2 (h2c), persistence, a member change under 200 keep-alive clients, and
//! slow, oversized and garbage requests (the member side: `proxy_members.rs`).

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
use serde_json::{Value, json};

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

#[test]
fn a_prometheus_listener_reports_proxied_and_kernel_listeners_of_its_load_balancer() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let tcp_addr: SocketAddr = format!("{}:7000", member_v4(0)).parse().expect("addr");
    let _tcp = servers::tcp(&topo.members[0], tcp_addr, "hello");
    let state = json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [
                {"id": "web", "protocol": "HTTP", "protocol_port": 80, "default_pool_id": "ph"},
                {"id": "tcp", "protocol": "TCP", "protocol_port": 7000, "default_pool_id": "pt"},
                {"id": "metrics", "protocol": "PROMETHEUS", "protocol_port": 9100}],
            "pools": [
                {"id": "ph", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                    "members": [member(0, 80)]},
                {"id": "pt", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
                    "members": [{"id": "m1-tcp", "address": member_v4(0), "protocol_port": 7000}]}]}]
    });
    let _agent = Agent::start(&topo, &state);
    eventually("the proxy answers", || {
        get(&topo, "/", &[]).starts_with("you hit")
    });
    // One connection through the kernel's listener.
    let vip_tcp: SocketAddr = format!("{VIP_V4}:7000").parse().expect("vip");
    let line = topo.client.enter(|| {
        let mut s = TcpStream::connect_timeout(&vip_tcp, Duration::from_secs(2)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut buf = [0u8; 6];
        s.read_exact(&mut buf).expect("the member's line");
        buf
    });
    assert_eq!(&line, b"hello\n");
    let value = |metrics: &str, name: &str, listener: &str| -> Option<u64> {
        let prefix = format!("{name}{{listener=\"{listener}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
    };
    // The proxied listener live, the kernel's after the next counter report (1 s).
    let url = format!("http://{VIP_V4}:9100/metrics");
    eventually("the kernel listener's connection in the metrics", || {
        let m = curl(&topo, &[&url]);
        value(&m, "octavia_listener_total_connections", "tcp").is_some_and(|n| n >= 1)
            && value(&m, "octavia_listener_requests_total", "web").is_some_and(|n| n >= 1)
    });
    let m = curl(&topo, &[&url]);
    assert!(
        m.contains("# TYPE octavia_listener_bytes_in_total counter"),
        "{m}"
    );
    assert!(
        value(&m, "octavia_listener_bytes_in_total", "web").is_some_and(|n| n > 0),
        "{m}"
    );
}
