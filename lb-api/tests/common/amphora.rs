//! An amphora host for end-to-end tests: the `LbTopology` (client, amphora `lb` namespace,
//! members behind a bridge), controller certificates, `lb-api serve --certs` and
//! `lb-agent serve` both inside the amphora namespace (management over its loopback; the agent
//! puts the VIPs on `eth0` itself), and the host registered with `lb-api host add`.

use std::{
    io::{BufRead as _, BufReader},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use lb_testkit::{LbTopology, NsProcess, PinDir};
use serde_json::Value;

use super::{Api, ApiArgs};

pub const VIP: &str = lb_testkit::topology::VIP_V4;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `target/debug/lb-agent`, built with the workspace.
pub fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let agent = dir.join("lb-agent");
    assert!(
        agent.is_file(),
        "{} is missing: build it with `cargo build -p lb-agent` (cargo xtask test does)",
        agent.display()
    );
    agent
}

/// Everything of one end-to-end run; removed on drop.
pub struct Amphora {
    pub topo: LbTopology,
    pub api: Api,
    pub certs: PathBuf,
    pub bundle: PathBuf,
    pub host_id: String,
    pub agent_port: u16,
    pub heartbeat_port: u16,
    agent: Option<NsProcess>,
    pins: PinDir,
    _work: tempfile::TempDir,
    state_dir: tempfile::TempDir,
}

impl Amphora {
    /// Topology with `members` members, controller up, network/subnet `private-subnet`
    /// (198.18.0.0/24) created, host registered, agent running.
    pub fn start(cli: PathBuf, members: usize, heartbeat_timeout_s: u32) -> Self {
        let topo = LbTopology::without_vips(members);
        let work = tempfile::tempdir().expect("temp dir");
        let certs = work.path().join("certs");
        lb_api::certs::init(&certs).expect("certs init");
        let bundle = work.path().join("agent");
        lb_api::certs::issue_agent(&certs, "amp1", &["127.0.0.1".parse().expect("ip")], &bundle)
            .expect("issue agent bundle");
        let heartbeat_port = free_port();
        let api = Api::start_with(
            cli,
            ApiArgs {
                ns: Some(topo.lb.name()),
                extra: vec![
                    "--certs".into(),
                    certs.display().to_string(),
                    "--heartbeat-bind".into(),
                    format!("127.0.0.1:{heartbeat_port}"),
                    "--heartbeat-timeout".into(),
                    heartbeat_timeout_s.to_string(),
                    "--retry-deadline".into(),
                    "6".into(),
                    "--noop-delay-ms".into(),
                    "50".into(),
                ],
                log: true,
                env: Vec::new(),
                db: None,
            },
        );
        api.json(&["network", "create", "private"]);
        api.json(&[
            "subnet",
            "create",
            "private-subnet",
            "--network",
            "private",
            "--subnet-range",
            "198.18.0.0/24",
        ]);
        let agent_port = free_port();
        let out = Command::new(env!("CARGO_BIN_EXE_lb-api"))
            .args(["host", "add", "--db", &api.db, "--name", "amp1"])
            .args(["--address", "127.0.0.1", "--port", &agent_port.to_string()])
            .args(["--subnet", "private-subnet", "--vip-interface", "eth0"])
            .args(["--member-interface", "eth1"])
            .args(["--snat-ipv4", lb_testkit::topology::SNAT_V4])
            .output()
            .expect("lb-api host add");
        assert!(
            out.status.success(),
            "host add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let host: Value = serde_json::from_slice(&out.stdout).expect("host add prints JSON");
        let host_id = host["id"].as_str().expect("host id").to_owned();
        let mut amp = Self {
            topo,
            api,
            certs,
            bundle,
            host_id,
            agent_port,
            heartbeat_port,
            agent: None,
            pins: PinDir::new("amp"),
            _work: work,
            state_dir: tempfile::tempdir().expect("state dir"),
        };
        amp.start_agent();
        amp
    }

    fn config(&self) -> PathBuf {
        let b = &self.bundle;
        let text = format!(
            r#"host_id = "{host}"
interfaces = ["eth0", "eth1"]
vip_interface = "eth0"
pin_dir = "{pins}"
state_dir = "{state}"
gc_interval_s = 2

[api]
bind = "127.0.0.1:{port}"
cert = "{cert}"
key = "{key}"
client_ca = "{ca}"

[heartbeat]
controllers = ["127.0.0.1:{hb}"]
interval_ms = 300
key_file = "{hbkey}"
"#,
            host = self.host_id,
            pins = self.pins.path().display(),
            state = self.state_dir.path().display(),
            port = self.agent_port,
            cert = b.join("agent.pem").display(),
            key = b.join("agent-key.pem").display(),
            ca = b.join("client-ca.pem").display(),
            hb = self.heartbeat_port,
            hbkey = b.join("heartbeat.key").display(),
        );
        let path = self.state_dir.path().join("agent.toml");
        std::fs::write(&path, text).expect("write agent.toml");
        path
    }

    /// Starts (or restarts) `lb-agent serve` in the amphora namespace.
    pub fn start_agent(&mut self) {
        let config = self.config();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state_dir.path().join("agent.log"))
            .expect("agent log");
        let child = Command::new("ip")
            .args(["netns", "exec", self.topo.lb.name()])
            .arg(agent_binary())
            .args(["serve", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start lb-agent");
        self.agent = Some(NsProcess::from_child(child));
    }

    /// `kill -9` of the agent.
    pub fn kill_agent(&mut self) {
        self.agent = None;
    }

    /// The agent's log so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.state_dir.path().join("agent.log")).unwrap_or_default()
    }

    /// Both logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- lb-api ---\n{}\n--- lb-agent ---\n{}",
            self.api.log(),
            self.agent_log()
        )
    }

    /// One TCP request from the client namespace: the first line the member sent.
    pub fn request(&self, port: u16) -> std::io::Result<String> {
        let target = SocketAddr::new(VIP.parse().expect("vip"), port);
        self.topo.client.enter(|| {
            let stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line)?;
            Ok(line.trim().to_owned())
        })
    }

    /// One HTTP GET from the client namespace: the response body, trimmed.
    pub fn http_get(&self, port: u16) -> std::io::Result<String> {
        use std::io::{Read as _, Write as _};
        let target = SocketAddr::new(VIP.parse().expect("vip"), port);
        self.topo.client.enter(|| {
            let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(b"GET / HTTP/1.0\r\nHost: lb1\r\n\r\n")?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            match text.split_once("\r\n\r\n") {
                Some((_, body)) => Ok(body.trim().to_owned()),
                None => Err(std::io::Error::other(format!(
                    "not an HTTP answer: {text:?}"
                ))),
            }
        })
    }

    /// Polls `f` until it returns `Some` or `within` passes.
    pub fn wait_for<T>(&self, what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
