//! What the proxy's end-to-end tests share: the agent running a state file, the state's
//! shape, curl in the client namespace, echo and raw members.

#![allow(dead_code, reason = "each test binary uses a part of these")]

use std::{
    io::Read as _,
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use lb_testkit::{
    LbTopology, NsProcess, servers,
    topology::{SNAT_V4, VIP_V4, member_v4},
};
use serde_json::{Value, json};

/// The agent running a state file, re-applied with SIGHUP.
pub struct Agent {
    file: PathBuf,
    process: NsProcess,
}

impl Agent {
    pub fn start(topo: &LbTopology, state: &Value) -> Self {
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
                // Counter reports each second: they bring the kernel listeners' figures to
                // PROMETHEUS listeners.
                "--interval",
                "1",
                "--no-pin",
            ],
        );
        Self { file, process }
    }

    pub fn reload(&mut self, state: &Value) {
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

pub fn member(i: usize, port: u16) -> Value {
    json!({"id": format!("m{}", i + 1), "address": member_v4(i), "protocol_port": port})
}

pub fn state(listener: Value, pools: Value) -> Value {
    json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": SNAT_V4},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [listener], "pools": pools}]
    })
}

/// curl in the client namespace; returns stdout (`-w` output included).
pub fn curl(topo: &LbTopology, args: &[&str]) -> String {
    let mut full = vec!["-s", "--max-time", "5"];
    full.extend_from_slice(args);
    let out = topo.client.exec("curl", &full);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn get(topo: &LbTopology, path: &str, extra: &[&str]) -> String {
    let url = format!("http://{VIP_V4}{path}");
    let mut args = extra.to_vec();
    args.push(&url);
    curl(topo, &args)
}

/// Polls until `check` holds, for at most 15 s.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or_default()
}

pub fn echo_servers(topo: &LbTopology, port: u16) -> Vec<servers::Server> {
    (0..topo.members.len())
        .map(|i| {
            let addr: SocketAddr = format!("{}:{port}", member_v4(i)).parse().expect("addr");
            servers::http_echo(&topo.members[i], addr, &format!("webserver{}", i + 1))
        })
        .collect()
}

/// A raw member at `addr` in `ns` for `accepts` connections, one after the other: reads each
/// request head (up to its blank line, 5 s at most) and hands the connection and the head to
/// `serve`.
pub fn raw_member(
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
