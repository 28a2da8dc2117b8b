//! End to end: the real `openstack` CLI → `lb-api serve --certs` (controller) → mutual TLS →
//! `lb-agent serve` on an amphora namespace → XDP → member namespaces with real servers. The
//! seeds' Layer-4 scenario, heartbeats (statuses, counters, a wrong key, a silent agent) and
//! mutual TLS refusing a client of another CA.

mod common;

use std::{net::SocketAddr, time::Duration};

use common::{
    amphora::{Amphora, VIP},
    cli_or_skip,
};
use lb_testkit::{servers, topology::member_v4};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(20);

fn webservers(amp: &Amphora) -> Vec<servers::Server> {
    let mut out = Vec::new();
    for (i, ns) in amp.topo.members.iter().enumerate() {
        let ip = member_v4(i).parse().expect("member ip");
        out.push(servers::tcp(
            ns,
            SocketAddr::new(ip, 80),
            &format!("you hit: webserver{}", i + 1),
        ));
        out.push(servers::tcp(
            ns,
            SocketAddr::new(ip, 443),
            &format!("you hit: webserver{}:443", i + 1),
        ));
    }
    out
}

fn tally(amp: &Amphora, port: u16, n: usize) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        let who = amp
            .request(port)
            .unwrap_or_else(|e| panic!("request to {VIP}:{port}: {e}\n{}", amp.logs()));
        *seen.entry(who).or_default() += 1;
    }
    seen
}

fn status_tree(amp: &Amphora) -> Value {
    let out = amp.api.ok(&["loadbalancer", "status", "show", "lb1"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status show: {e}: {out}"))
}

/// `(listener port, member index) -> operating_status` from the status tree.
fn member_status(tree: &Value, port: i64, member: usize) -> String {
    let address = member_v4(member);
    tree["loadbalancer"]["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["name"].as_str() == Some(if port == 80 { "l80" } else { "l443" }))
        .flat_map(|l| l["pools"].as_array().into_iter().flatten())
        .flat_map(|p| p["members"].as_array().into_iter().flatten())
        .find(|m| m["address"].as_str() == Some(address.as_str()))
        .and_then(|m| m["operating_status"].as_str())
        .unwrap_or("?")
        .to_owned()
}

fn create_service(amp: &Amphora, port: u16) {
    let listener = format!("l{port}");
    let pool = format!("p{port}");
    let l = amp.api.json(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        &listener,
        "--protocol",
        "TCP",
        "--protocol-port",
        &port.to_string(),
        "--wait",
        "lb1",
    ]);
    assert_eq!(l["provisioning_status"], "ACTIVE", "{l}");
    let p = amp.api.json(&[
        "loadbalancer",
        "pool",
        "create",
        "--name",
        &pool,
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        &listener,
        "--protocol",
        "TCP",
        "--wait",
    ]);
    assert_eq!(p["provisioning_status"], "ACTIVE", "{p}");
    for i in 0..2 {
        let m = amp.api.json(&[
            "loadbalancer",
            "member",
            "create",
            "--name",
            &format!("web{}-{port}", i + 1),
            "--address",
            &member_v4(i),
            "--protocol-port",
            &port.to_string(),
            "--wait",
            &pool,
        ]);
        assert_eq!(m["provisioning_status"], "ACTIVE", "{m}");
    }
}

#[test]
fn layer4_scenario_through_the_cli_controller_and_agent() {
    lb_testkit::require_root!();
    let Some(cli) = cli_or_skip() else { return };
    let mut amp = Amphora::start(cli, 2, 3);
    let _servers = webservers(&amp);

    let lb = amp.api.json(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--vip-address",
        VIP,
        "--wait",
    ]);
    assert_eq!(lb["provisioning_status"], "ACTIVE", "{lb}\n{}", amp.logs());
    assert_eq!(lb["provider"], "amphora");
    create_service(&amp, 80);
    create_service(&amp, 443);

    // Round robin over both members, on both listeners.
    let on80 = tally(&amp, 80, 20);
    assert_eq!(on80.len(), 2, "both members must answer on :80: {on80:?}");
    assert!(
        on80.values().all(|&n| n >= 6),
        "uneven round robin on :80: {on80:?}"
    );
    assert!(on80.contains_key("you hit: webserver1") && on80.contains_key("you hit: webserver2"));
    let on443 = tally(&amp, 443, 10);
    assert_eq!(
        on443.keys().cloned().collect::<Vec<_>>(),
        ["you hit: webserver1:443", "you hit: webserver2:443"],
        "{on443:?}"
    );

    // Heartbeats carry the counters into `stats show` and statuses into the tree.
    amp.wait_for("stats to count the requests", TIMEOUT, || {
        let s = amp.api.json(&["loadbalancer", "stats", "show", "lb1"]);
        (s["total_connections"].as_i64()? >= 30 && s["bytes_out"].as_i64()? > 0).then_some(())
    });
    let l443 = amp
        .api
        .json(&["loadbalancer", "listener", "stats", "show", "l443"]);
    assert!(
        l443["total_connections"].as_i64() >= Some(10) && l443["bytes_in"].as_i64() > Some(0),
        "listener stats: {l443}"
    );
    amp.wait_for("ONLINE statuses", TIMEOUT, || {
        let tree = status_tree(&amp);
        (tree["loadbalancer"]["operating_status"] == "ONLINE"
            && member_status(&tree, 80, 0) == "NO_MONITOR")
            .then_some(())
    });

    // Drain: weight 0 stops new flows to webserver1 on :80.
    amp.api.ok(&[
        "loadbalancer",
        "member",
        "set",
        "--weight",
        "0",
        "--wait",
        "p80",
        "web1-80",
    ]);
    let drained = tally(&amp, 80, 10);
    assert_eq!(
        drained.keys().cloned().collect::<Vec<_>>(),
        ["you hit: webserver2"],
        "a drained member got new flows: {drained:?}"
    );
    amp.wait_for("DRAINING in the status tree", TIMEOUT, || {
        (member_status(&status_tree(&amp), 80, 0) == "DRAINING").then_some(())
    });

    // The agent dies: the pinned data plane keeps balancing; heartbeats stop.
    amp.kill_agent();
    assert_eq!(
        amp.request(443).map(|s| s.starts_with("you hit")).ok(),
        Some(true)
    );
    // A heartbeat signed with another key is dropped; the same one with the right key counts.
    let forged = lb_proto::heartbeat::Heartbeat {
        host_id: amp.host_id.clone(),
        sent_at_ms: u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis(),
        )
        .expect("ms"),
        applied: None,
        listeners: Vec::new(),
        members: member_ids(&amp, "p443")
            .into_iter()
            .map(|id| lb_proto::heartbeat::MemberReport {
                id,
                pool_id: String::new(),
                status: lb_proto::heartbeat::MemberStatus::Down,
            })
            .collect(),
    };
    let right_key = std::fs::read_to_string(amp.bundle.join("heartbeat.key")).expect("key");
    send_heartbeat(&amp, &forged, b"not-the-key");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        member_status(&status_tree(&amp), 443, 0),
        "NO_MONITOR",
        "a wrongly signed heartbeat was accepted"
    );
    send_heartbeat(&amp, &forged, right_key.trim_end().as_bytes());
    amp.wait_for("the signed report to mark members ERROR", TIMEOUT, || {
        (member_status(&status_tree(&amp), 443, 0) == "ERROR").then_some(())
    });
    // Silent host: operating status ERROR within the heartbeat timeout (3 s) + a tick.
    amp.wait_for("ERROR after the heartbeat timeout", TIMEOUT, || {
        (status_tree(&amp)["loadbalancer"]["operating_status"] == "ERROR").then_some(())
    });

    // mutual TLS: a controller certificate of another CA is refused by the agent.
    amp.start_agent();
    amp.wait_for("the restarted agent's heartbeats", TIMEOUT, || {
        (status_tree(&amp)["loadbalancer"]["operating_status"] == "ONLINE").then_some(())
    });
    foreign_client_is_refused(&amp);

    if std::env::var_os("LB_E2E_LOGS").is_some() {
        eprintln!("{}", amp.logs());
    }
    // Delete: the VIP leaves the data plane.
    amp.api
        .ok(&["loadbalancer", "delete", "--cascade", "--wait", "lb1"]);
    let list = amp.api.json(&["loadbalancer", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    amp.wait_for("the VIP to stop answering", TIMEOUT, || {
        amp.request(80).is_err().then_some(())
    });
}

fn member_ids(amp: &Amphora, pool: &str) -> Vec<String> {
    amp.api
        .json(&["loadbalancer", "member", "list", pool])
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

fn send_heartbeat(amp: &Amphora, hb: &lb_proto::heartbeat::Heartbeat, key: &[u8]) {
    let datagram = lb_proto::heartbeat::seal(hb, key).expect("seal");
    let to: SocketAddr = ([127, 0, 0, 1], amp.heartbeat_port).into();
    amp.topo.lb.enter(|| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        socket.send_to(&datagram, to).expect("send heartbeat");
    });
}

fn foreign_client_is_refused(amp: &Amphora) {
    let other = tempfile::tempdir().expect("temp dir");
    lb_api::certs::init(other.path()).expect("second CA");
    let files = lb_api::certs::files::SERVER_CA;
    let state = lb_proto::DesiredState {
        version: lb_proto::PROTO_VERSION,
        // Older than anything applied: an agent that lets the client in answers 409 (stale).
        generation: 0,
        ..lb_proto::DesiredState::default()
    };
    let push = |certs: &std::path::Path| {
        let tls = lb_proto::tls::client_config(
            // Trust the real server CA, present a client certificate of `certs`.
            &amp.certs.join(files),
            &certs.join(lb_api::certs::files::CONTROLLER),
            &certs.join(lb_api::certs::files::CONTROLLER_KEY),
        )
        .expect("client TLS");
        let client = lb_api::controller::client::AgentClient::new(tls, Duration::from_secs(5));
        let port = amp.agent_port;
        amp.topo.lb.enter(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(client.push("127.0.0.1".parse().expect("ip"), port, &state))
        })
    };
    let refused = push(other.path());
    assert!(
        matches!(
            refused,
            Err(lb_api::controller::client::AgentError::Unreachable { .. })
        ),
        "a client of another CA was served: {refused:?}"
    );
    // The same call with the controller's own certificate gets through TLS (and is refused as
    // stale, so the running state stays).
    let served = push(&amp.certs);
    assert!(
        matches!(
            served,
            Err(lb_api::controller::client::AgentError::Stale(_))
        ),
        "the controller's own certificate was refused: {served:?}"
    );
}
