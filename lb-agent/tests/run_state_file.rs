//! The `lb-agent run --state` binary end to end: it balances the file's load balancer in the
//! lb namespace, re-applies the file on SIGHUP, refuses an invalid file while keeping the
//! running state, and detaches on SIGTERM.

use std::{
    io::{BufRead as _, BufReader},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use lb_testkit::{
    LbTopology, require_root, servers,
    topology::{SNAT_V4, VIP_V4, member_v4},
};
use serde_json::json;

fn state(weights: [u16; 2]) -> serde_json::Value {
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [{"id": "l", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p"}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m1", "address": member_v4(0), "protocol_port": 8080, "weight": weights[0]},
                {"id": "m2", "address": member_v4(1), "protocol_port": 8080, "weight": weights[1]}
            ]}]}]
    })
}

/// A state file removed on drop.
struct StateFile(PathBuf);

impl StateFile {
    fn write(&self, value: &serde_json::Value) {
        std::fs::write(&self.0, value.to_string()).expect("write state file");
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            eprintln!("cleanup: {}: {e}", self.0.display());
        }
    }
}

fn request(topo: &LbTopology) -> std::io::Result<String> {
    let vip: SocketAddr = format!("{VIP_V4}:80").parse().expect("vip");
    topo.client.enter(|| {
        let s = TcpStream::connect_timeout(&vip, Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line)?;
        Ok(line.trim().to_owned())
    })
}

/// Polls until `check` holds, for at most 15 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, sig: &str) {
    lb_testkit::cmd::run("kill", &[sig, &pid.to_string()]);
}

#[test]
fn run_applies_the_file_reloads_on_sighup_and_detaches_on_sigterm() {
    require_root!();
    let topo = LbTopology::new(2);
    let _servers: Vec<_> = (0..2)
        .map(|i| {
            let addr: SocketAddr = format!("{}:8080", member_v4(i)).parse().expect("addr");
            servers::tcp(&topo.members[i], addr, &format!("m{}", i + 1))
        })
        .collect();
    let pins = lb_testkit::PinDir::new("agent");
    let pin_dir = pins.path().to_string_lossy().into_owned();
    let file =
        StateFile(std::env::temp_dir().join(format!("lbt-{}-state.json", std::process::id())));
    file.write(&state([1, 1]));
    let path = file.0.to_string_lossy().into_owned();
    let mut agent = topo.lb.spawn(
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
            "--pin-dir",
            &pin_dir,
            "--detach-on-exit",
        ],
    );
    let pid = agent.child().id();

    eventually("the VIP answers", || request(&topo).is_ok());
    let hits: Vec<String> = (0..10).map(|_| request(&topo).expect("request")).collect();
    assert!(
        hits.contains(&"m1".into()) && hits.contains(&"m2".into()),
        "{hits:?}"
    );

    // SIGHUP with m1 drained: new connections all go to m2.
    file.write(&state([0, 1]));
    signal(pid, "-HUP");
    eventually("m1 drained", || {
        (0..6).all(|_| request(&topo).is_ok_and(|m| m == "m2"))
    });

    // An invalid file is refused; the running state stays.
    file.write(&json!({"version": 1, "generation": 3, "loadbalancers": "nonsense"}));
    signal(pid, "-HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(request(&topo).expect("still balancing"), "m2");

    signal(pid, "-TERM");
    let status = agent.child().wait().expect("wait for the agent");
    assert!(status.success(), "agent exited with {status}");
    let link = topo.lb.link_details("eth0");
    assert!(
        !link.contains("prog/xdp"),
        "XDP left attached after exit:\n{link}"
    );
}
