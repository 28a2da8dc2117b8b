//! Crash safety end to end: `lb-api` aborts (as `kill -9`) at exact steps of a change — after
//! recording the intent, after the agent applied the state — and the agent is killed during
//! changes; after restarts every object ends ACTIVE or ERROR (never PENDING_*) within 30 s, and
//! traffic matches the final state.

mod common;

use std::{net::SocketAddr, time::Duration};

use common::{
    amphora::{Amphora, VIP},
    cli_or_skip,
};
use lb_api::controller::CRASH_ENV;
use lb_testkit::{servers, topology::member_v4};
use serde_json::Value;

/// The bound for finishing a change after a restart.
const SETTLE: Duration = Duration::from_secs(30);

fn show(amp: &Amphora, args: &[&str]) -> Value {
    amp.api.json(args)
}

fn wait_status(amp: &Amphora, args: &[&str], want: &str) {
    amp.wait_for(&format!("{} to be {want}", args.join(" ")), SETTLE, || {
        let v = show(amp, args);
        (v["provisioning_status"] == want).then_some(())
    });
}

/// Nothing anywhere is PENDING_*.
fn no_pending(amp: &Amphora) {
    for args in [
        &["loadbalancer", "list"][..],
        &["loadbalancer", "listener", "list"][..],
        &["loadbalancer", "pool", "list"][..],
    ] {
        let list = amp.api.json(args);
        for o in list.as_array().into_iter().flatten() {
            let s = o["provisioning_status"].as_str().unwrap_or("");
            assert!(!s.starts_with("PENDING"), "{} left {o}", args.join(" "));
        }
    }
}

/// Starts lb-api with a crash point, runs `args` (the API may die before or after answering),
/// checks it died, and starts it again without the crash point.
fn crash_during(amp: &mut Amphora, point: &str, args: &[&str]) {
    amp.api.restart(&[(CRASH_ENV, point)]);
    let out = amp.api.run(args);
    eprintln!(
        "crash_during {point}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        amp.api.wait_exit(Duration::from_secs(15)),
        "lb-api did not reach crash point {point} during `{}` ({}: {})\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        amp.logs()
    );
    amp.api.restart(&[]);
}

#[test]
fn every_change_finishes_after_crashes_of_the_api_and_the_agent() {
    lb_testkit::require_root!();
    let Some(cli) = cli_or_skip() else { return };
    let mut amp = Amphora::start(cli, 2, 30);
    let _servers: Vec<_> = amp
        .topo
        .members
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let addr = SocketAddr::new(member_v4(i).parse().expect("ip"), 80);
            servers::tcp(ns, addr, &format!("you hit: webserver{}", i + 1))
        })
        .collect();

    // Create; the API dies right after recording the intent, before pushing.
    crash_during(
        &mut amp,
        "after_intent",
        &[
            "loadbalancer",
            "create",
            "--name",
            "lb1",
            "--vip-subnet-id",
            "private-subnet",
            "--vip-address",
            VIP,
        ],
    );
    wait_status(&amp, &["loadbalancer", "show", "lb1"], "ACTIVE");

    // Update; the API dies after the agent applied the state, before settling it.
    crash_during(
        &mut amp,
        "after_push",
        &[
            "loadbalancer",
            "listener",
            "create",
            "--name",
            "l80",
            "--protocol",
            "TCP",
            "--protocol-port",
            "80",
            "lb1",
        ],
    );
    wait_status(&amp, &["loadbalancer", "listener", "show", "l80"], "ACTIVE");
    wait_status(&amp, &["loadbalancer", "show", "lb1"], "ACTIVE");

    // The agent is down while a change is pushed, and back before the retry deadline.
    amp.kill_agent();
    amp.api.ok(&[
        "loadbalancer",
        "pool",
        "create",
        "--name",
        "p80",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        "l80",
        "--protocol",
        "TCP",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    amp.start_agent();
    wait_status(&amp, &["loadbalancer", "pool", "show", "p80"], "ACTIVE");

    crash_during(
        &mut amp,
        "after_push",
        &[
            "loadbalancer",
            "member",
            "create",
            "--name",
            "web1",
            "--address",
            &member_v4(0),
            "--protocol-port",
            "80",
            "p80",
        ],
    );
    wait_status(
        &amp,
        &["loadbalancer", "member", "show", "p80", "web1"],
        "ACTIVE",
    );
    amp.api.ok(&[
        "loadbalancer",
        "member",
        "create",
        "--name",
        "web2",
        "--address",
        &member_v4(1),
        "--protocol-port",
        "80",
        "--wait",
        "p80",
    ]);
    no_pending(&amp);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..12 {
        seen.insert(
            amp.request(80)
                .unwrap_or_else(|e| panic!("request: {e}\n{}", amp.logs())),
        );
    }
    assert_eq!(seen.len(), 2, "both members must answer: {seen:?}");

    // The agent stays down past the retry deadline: the change ends in ERROR, not PENDING.
    amp.kill_agent();
    amp.api.ok(&[
        "loadbalancer",
        "member",
        "set",
        "--weight",
        "0",
        "p80",
        "web1",
    ]);
    wait_status(
        &amp,
        &["loadbalancer", "member", "show", "p80", "web1"],
        "ERROR",
    );
    wait_status(&amp, &["loadbalancer", "show", "lb1"], "ERROR");
    no_pending(&amp);
    // Failover with the agent back re-pushes: ACTIVE again, and traffic follows the stored
    // state (web1 at weight 0 gets no new flows).
    amp.start_agent();
    amp.api.ok(&["loadbalancer", "failover", "lb1"]);
    wait_status(&amp, &["loadbalancer", "show", "lb1"], "ACTIVE");
    for _ in 0..6 {
        let who = amp
            .request(80)
            .unwrap_or_else(|e| panic!("request: {e}\n{}", amp.logs()));
        assert_eq!(
            who, "you hit: webserver2",
            "the drained member got a new flow"
        );
    }

    // Delete; the API dies after the agent dropped the VIP, before removing the rows.
    crash_during(
        &mut amp,
        "after_push",
        &["loadbalancer", "delete", "--cascade", "lb1"],
    );
    amp.wait_for("lb1 to be gone", SETTLE, || {
        let list = amp.api.json(&["loadbalancer", "list"]);
        list.as_array().is_some_and(Vec::is_empty).then_some(())
    });
    amp.wait_for("the VIP to stop answering", SETTLE, || {
        amp.request(80).is_err().then_some(())
    });
}
