//! The agent keeps VIP addresses on the VIP-side interface: adds them, removes only what it
//! added (also after a restart), leaves hand-made addresses alone.

use lb_agent::agent::vips::Vips;
use lb_proto::DesiredState;
use lb_testkit::Netns;

fn state(vips: &[&str]) -> DesiredState {
    let lbs: Vec<serde_json::Value> = vips
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"id": format!("lb{i}"), "vip_address": v}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": "198.18.1.1", "ipv6": "fd00:19::1"},
        "loadbalancers": lbs,
    }))
    .expect("state")
}

fn addresses(ns: &Netns) -> String {
    ns.exec_ok("ip", &["-o", "addr", "show", "dev", "vip0"])
}

#[test]
fn vips_are_added_and_only_the_agents_own_are_removed() {
    lb_testkit::require_root!();
    let a = Netns::new("vips");
    let b = Netns::new("vipspeer");
    a.veth("vip0", &b, "peer0");
    a.addr("vip0", "198.18.0.50/32");
    let dir = tempfile::tempdir().expect("state dir");
    a.enter(|| {
        let mut vips = Vips::new("vip0", dir.path());
        vips.sync(&state(&["198.18.0.100", "198.18.0.50", "fd00:18::100"]))
            .expect("sync");
    });
    let shown = addresses(&a);
    for want in ["198.18.0.100/32", "198.18.0.50/32", "fd00:18::100/128"] {
        assert!(shown.contains(want), "{want} missing:\n{shown}");
    }
    // A restarted agent remembers what it added.
    a.enter(|| {
        let mut vips = Vips::new("vip0", dir.path());
        vips.sync(&state(&[])).expect("sync");
    });
    let shown = addresses(&a);
    assert!(
        !shown.contains("198.18.0.100/"),
        "the agent's VIP stayed:\n{shown}"
    );
    assert!(
        !shown.contains("fd00:18::100/"),
        "the agent's VIP stayed:\n{shown}"
    );
    assert!(
        shown.contains("198.18.0.50/32"),
        "a hand-made address was removed:\n{shown}"
    );
}
