//! The seeds' health-monitor walkthrough end to end (real CLI → controller → agent → XDP): two
//! web servers behind an HTTP listener with `healthmonitor create --delay 1 --max-retries 2
//! --timeout 1 --type HTTP`; webserver2 stops and, within delay × max_retries_down plus a
//! bound, every request reaches webserver1 and the status tree shows it ERROR; it starts again
//! and both are used, ONLINE.

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::{amphora::Amphora, cli_or_skip};
use lb_testkit::{servers, topology::member_v4};
use serde_json::Value;

fn web(amp: &Amphora, i: usize) -> servers::Server {
    let addr = SocketAddr::new(member_v4(i).parse().expect("ip"), 80);
    servers::http(
        &amp.topo.members[i],
        addr,
        &format!("you hit: webserver{}", i + 1),
    )
}

fn member_status(amp: &Amphora, address: &str) -> String {
    let out = amp.api.ok(&["loadbalancer", "status", "show", "lb1"]);
    let tree: Value = serde_json::from_str(&out).unwrap_or_default();
    tree["loadbalancer"]["listeners"][0]["pools"][0]["members"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["address"] == address)
        .and_then(|m| m["operating_status"].as_str())
        .unwrap_or("?")
        .to_owned()
}

/// Who answered `n` requests (failed requests counted as "error").
fn tally(amp: &Amphora, n: usize) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        let who = amp.http_get(80).unwrap_or_else(|_| "error".into());
        *seen.entry(who).or_default() += 1;
    }
    seen
}

#[test]
fn a_failed_member_leaves_and_rejoins_the_data_plane() {
    lb_testkit::require_root!();
    let Some(cli) = cli_or_skip() else { return };
    let amp = Amphora::start(cli, 2, 10);
    let _web1 = web(&amp, 0);
    let web2 = web(&amp, 1);
    let api = &amp.api;
    api.ok(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--vip-address",
        common::amphora::VIP,
        "--wait",
    ]);
    api.ok(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "listener1",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        "--wait",
        "lb1",
    ]);
    api.ok(&[
        "loadbalancer",
        "pool",
        "create",
        "--name",
        "pool1",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        "listener1",
        "--protocol",
        "HTTP",
        "--wait",
    ]);
    for i in 0..2 {
        api.ok(&[
            "loadbalancer",
            "member",
            "create",
            "--name",
            &format!("webserver{}", i + 1),
            "--address",
            &member_v4(i),
            "--protocol-port",
            "80",
            "--wait",
            "pool1",
        ]);
    }
    let hm = api.json(&[
        "loadbalancer",
        "healthmonitor",
        "create",
        "--delay",
        "1",
        "--max-retries",
        "2",
        "--timeout",
        "1",
        "--type",
        "HTTP",
        "--url-path",
        "/",
        "--wait",
        "pool1",
    ]);
    assert_eq!(hm["max_retries_down"], 3, "{hm}");
    amp.wait_for("both members ONLINE", Duration::from_secs(20), || {
        (member_status(&amp, &member_v4(0)) == "ONLINE"
            && member_status(&amp, &member_v4(1)) == "ONLINE")
            .then_some(())
    });
    let both = tally(&amp, 10);
    assert_eq!(both.len(), 2, "{both:?}");

    // webserver2 stops: after delay × max_retries_down (3 s) plus a bound, only webserver1.
    drop(web2);
    let stopped = Instant::now();
    amp.wait_for(
        "every request to reach webserver1",
        Duration::from_secs(20),
        || {
            let seen = tally(&amp, 6);
            (seen.len() == 1 && seen.contains_key("you hit: webserver1")).then_some(())
        },
    );
    let took = stopped.elapsed();
    assert!(
        took < Duration::from_secs(3 + 7),
        "webserver2 left the data plane only after {took:?}"
    );
    amp.wait_for(
        "webserver2 ERROR in the status tree",
        Duration::from_secs(15),
        || (member_status(&amp, &member_v4(1)) == "ERROR").then_some(()),
    );

    // It comes back: after max_retries (2) good probes both members are used again.
    let _web2 = web(&amp, 1);
    amp.wait_for(
        "webserver2 to take requests again",
        Duration::from_secs(20),
        || (tally(&amp, 10).len() == 2).then_some(()),
    );
    amp.wait_for("webserver2 ONLINE", Duration::from_secs(15), || {
        (member_status(&amp, &member_v4(1)) == "ONLINE").then_some(())
    });
}
