//! The controller in-process, without agents: placement, bounded retries ending in ERROR, and
//! failover moving a load balancer off a silent host (hosts made alive by signed heartbeats).

use std::time::Duration;

use serde_json::json;

use crate::testutil::TestApp;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .unwrap()
        .port()
}

fn beat(host_id: &str, port: u16, key: &[u8]) {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let sent = LAST
        .fetch_max(now, std::sync::atomic::Ordering::SeqCst)
        .max(now)
        + 1;
    LAST.store(sent, std::sync::atomic::Ordering::SeqCst);
    let hb = lb_proto::heartbeat::Heartbeat {
        host_id: host_id.to_owned(),
        sent_at_ms: sent,
        applied: None,
        listeners: Vec::new(),
        members: Vec::new(),
    };
    let datagram = lb_proto::heartbeat::seal(&hb, key).unwrap();
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&datagram, ("127.0.0.1", port))
        .unwrap();
}

async fn host(app: &TestApp, name: &str, address: &str) -> String {
    let (s, b) = app
        .call(
            "POST",
            "/v2/octavia/hosts",
            None,
            Some(json!({"host": {"name": name, "address": address, "port": 9,
                                 "subnets": ["private-subnet"], "snat_ipv4": "10.0.0.5"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["host"]["id"].as_str().unwrap().to_owned()
}

async fn amphora_host(app: &TestApp) -> Option<String> {
    let (_, b) = app.call("GET", "/v2/octavia/amphorae", None, None).await;
    b["amphorae"][0]["compute_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_agents_end_in_error_and_failover_leaves_a_silent_host() {
    let port = free_udp_port();
    let (app, certs) = TestApp::controlled(|c| {
        c.heartbeat_bind = ([127, 0, 0, 1], port).into();
        c.heartbeat_timeout = Duration::from_secs(2);
        c.retry_deadline = Duration::from_secs(1);
        c.push_timeout = Duration::from_millis(300);
    })
    .await;
    let key = std::fs::read_to_string(certs.join(crate::certs::files::HEARTBEAT_KEY)).unwrap();
    let key = key.trim_end().as_bytes().to_vec();
    let subnet = app.subnet().await;
    // Nothing serves the subnet yet: the load balancer cannot be placed.
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"name": "early", "vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let early = b["loadbalancer"]["id"].as_str().unwrap().to_owned();
    app.wait_status(
        &format!("/v2/lbaas/loadbalancers/{early}"),
        "p1",
        "loadbalancer",
        "ERROR",
    )
    .await;

    // Two hosts whose agents (port 9 on 127.0.0.2/.3) never answer; both send heartbeats.
    let a = host(&app, "amp-a", "127.0.0.2").await;
    let b_id = host(&app, "amp-b", "127.0.0.3").await;
    beat(&a, port, &key);
    beat(&b_id, port, &key);
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"name": "lb1", "vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = b["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let uri = format!("/v2/lbaas/loadbalancers/{lb}");
    // Retries are bounded: ERROR, never stuck in PENDING_CREATE.
    let keep_alive = |host: String, key: Vec<u8>| {
        tokio::spawn(async move {
            for _ in 0..100 {
                beat(&host, port, &key);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut first = None;
    for _ in 0..50 {
        first = amphora_host(&app).await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = first.expect("placed within 5 s");
    let other = if first == a { b_id.clone() } else { a.clone() };
    let beats = keep_alive(other.clone(), key.clone());
    app.wait_status(&uri, "p1", "loadbalancer", "ERROR").await;
    // The first host is now silent; failover moves the load balancer to the other one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (s, _) = app
        .call("PUT", &format!("{uri}/failover"), None, None)
        .await;
    assert_eq!(s, 202);
    let mut moved = None;
    for _ in 0..50 {
        moved = amphora_host(&app).await.filter(|h| *h == other);
        if moved.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        moved.as_deref(),
        Some(other.as_str()),
        "failover did not move off the silent host"
    );
    app.wait_status(&uri, "p1", "loadbalancer", "ERROR").await;
    beats.abort();
    // ERROR load balancers can be deleted; the delete completes although no agent answers.
    let (s, _) = app.call("DELETE", &uri, Some("p1"), None).await;
    assert_eq!(s, 204);
    app.wait_gone(&uri, "p1").await;
}
