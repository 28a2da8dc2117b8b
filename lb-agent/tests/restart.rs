//! The data plane outlives its agent: after `kill -9` established connections and new ones keep
//! being balanced; a restarted agent adopts the pinned maps and links (flows carry on); pins
//! with another layout are replaced; `lb-agent cleanup` takes the data plane down.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use lb_agent::dataplane::{Dataplane, EBPF_OBJECT};
use lb_common::maps::FLOWS;
use lb_testkit::{
    LbTopology, NsProcess, PinDir, require_root, servers,
    topology::{SNAT_V4, VIP_V4, member_v4},
};
use serde_json::json;

fn state_json() -> String {
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [{"id": "l", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p"}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m1", "address": member_v4(0), "protocol_port": 8080},
                {"id": "m2", "address": member_v4(1), "protocol_port": 8080}
            ]}]}]
    })
    .to_string()
}

fn connect(topo: &LbTopology) -> std::io::Result<(TcpStream, String)> {
    let vip: SocketAddr = format!("{VIP_V4}:80").parse().expect("vip");
    topo.client.enter(|| {
        let s = TcpStream::connect_timeout(&vip, Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut line = String::new();
        BufReader::new(s.try_clone()?).read_line(&mut line)?;
        Ok((s, line.trim().to_owned()))
    })
}

fn echo(stream: &mut TcpStream, text: &str) -> String {
    stream
        .write_all(format!("{text}\n").as_bytes())
        .expect("write");
    let mut line = String::new();
    BufReader::new(stream.try_clone().expect("clone"))
        .read_line(&mut line)
        .expect("read echo");
    line.trim().to_owned()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_agent(topo: &LbTopology, state: &str, pins: &str) -> NsProcess {
    topo.lb.spawn(
        env!("CARGO_BIN_EXE_lb-agent"),
        &[
            "run",
            "--state",
            state,
            "--iface",
            "eth0",
            "--iface",
            "eth1",
            "--interval",
            "0",
            "--pin-dir",
            pins,
        ],
    )
}

#[test]
fn kill_9_keeps_traffic_flowing_and_a_restart_adopts_the_flows() {
    require_root!();
    let topo = LbTopology::new(2);
    let _servers: Vec<_> = (0..2)
        .map(|i| {
            let addr: SocketAddr = format!("{}:8080", member_v4(i)).parse().expect("addr");
            servers::tcp(&topo.members[i], addr, &format!("m{}", i + 1))
        })
        .collect();
    let pins = PinDir::new("restart");
    let pin_dir = pins.path().to_string_lossy().into_owned();
    let state = std::env::temp_dir().join(format!("lbt-{}-restart.json", std::process::id()));
    std::fs::write(&state, state_json()).expect("state file");
    let state_path = state.to_string_lossy().into_owned();

    let mut agent = start_agent(&topo, &state_path, &pin_dir);
    eventually("the VIP answers", || connect(&topo).is_ok());
    let (mut held, member) = connect(&topo).expect("long-lived connection");
    assert_eq!(echo(&mut held, "before"), "before");

    // kill -9: the pinned links keep the programs attached.
    agent.child().kill().expect("kill -9");
    agent.child().wait().expect("reap");
    assert_eq!(
        echo(&mut held, "agent dead"),
        "agent dead",
        "established flow broke"
    );
    let hits: Vec<String> = (0..6)
        .map(|_| connect(&topo).expect("new connection").1)
        .collect();
    assert!(
        hits.contains(&"m1".into()) && hits.contains(&"m2".into()),
        "{hits:?}"
    );

    // Restart: the flows and the balancing go on.
    let mut agent = start_agent(&topo, &state_path, &pin_dir);
    std::thread::sleep(Duration::from_millis(500));
    eventually("the restarted agent balances", || connect(&topo).is_ok());
    assert_eq!(
        echo(&mut held, "adopted"),
        "adopted",
        "flow lost across the restart ({member})"
    );
    let link = topo.lb.link_details("eth0");
    assert_eq!(
        link.matches("prog/xdp").count(),
        1,
        "one XDP program on eth0:\n{link}"
    );

    agent.child().kill().expect("kill");
    agent.child().wait().expect("reap");
    let cleanup = topo.lb.exec(
        env!("CARGO_BIN_EXE_lb-agent"),
        &["cleanup", "--pin-dir", &pin_dir],
    );
    assert!(
        cleanup.status.success(),
        "cleanup failed: {}",
        String::from_utf8_lossy(&cleanup.stderr)
    );
    eventually("XDP detached after cleanup", || {
        !topo.lb.link_details("eth0").contains("prog/xdp")
    });
    assert!(!pins.path().exists(), "pins left after cleanup");
    std::fs::remove_file(&state).expect("remove state file");
}

#[test]
fn pins_with_another_layout_are_replaced_and_equal_ones_adopted() {
    require_root!();
    let pins = PinDir::new("layout");
    // A previous "agent" pinned its flow table with another size (the rest sized as always).
    let mut loader = lb_agent::dataplane::loader::object_loader();
    loader.map_max_entries(FLOWS, 1024);
    let old = loader
        .load(EBPF_OBJECT)
        .expect("load with another flow-table size");
    for (name, map) in old.maps() {
        map.pin(pins.path().join(name)).expect("pin");
    }
    drop(old);
    let (dp, adoption) = Dataplane::load_pinned(pins.path()).expect("load pinned");
    assert_eq!(adoption.replaced, vec![FLOWS.to_owned()]);
    assert!(
        adoption.adopted.len() >= 10 && adoption.created.is_empty(),
        "{adoption:?}"
    );
    drop(dp);
    let (_dp, again) = Dataplane::load_pinned(pins.path()).expect("load pinned again");
    assert!(
        again.replaced.is_empty() && again.created.is_empty(),
        "{again:?}"
    );
}
