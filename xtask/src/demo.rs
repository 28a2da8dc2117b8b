//! `cargo xtask run`: the demo. Builds everything, creates a namespace topology (client, an
//! amphora host, two web servers answering "you hit: webserver1/2"), starts lb-api with its
//! embedded store and the controller, registers the host, starts lb-agent on it, creates a load
//! balancer through the real `openstack` CLI, shows requests alternating between the members,
//! then keeps running for the user's own commands until Ctrl-C, when everything is removed.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use lb_testkit::{LbTopology, servers, topology};

use crate::{
    setup,
    shell::{self, cargo, step, workspace_root},
};

/// Management link: the controller's end in the root namespace, the agent's in the amphora's.
const MGMT_ROOT: &str = "lbdemo-mgmt";
const MGMT_CONTROLLER: &str = "198.18.255.1";
const MGMT_AGENT: &str = "198.18.255.2";
/// The web servers stay up this long at most.
const SERVER_LIFETIME: Duration = Duration::from_secs(24 * 3600);

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        // SIGTERM first so both shut down cleanly; the namespaces go right after anyway.
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    workspace_root().join("target/debug").join(name)
}

fn wait_tcp(addr: SocketAddr, what: &str, child: &mut Child, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "{what} exited ({status}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{what} does not listen on {addr} after 30 s; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The `openstack` CLI of the setup's venv, pointed at lb-api without Keystone.
struct Cli {
    bin: PathBuf,
    endpoint: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        step(&format!("$ openstack {}", args.join(" ")));
        let mut cmd = Command::new(&self.bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("OS_AUTH_TYPE", "none")
            .env("OS_ENDPOINT", &self.endpoint)
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
            .args(args);
        shell::capture(&mut cmd)
    }
}

/// One HTTP request from the client namespace; the body's first line.
fn request(topo: &LbTopology) -> anyhow::Result<String> {
    let vip: SocketAddr = (topology::VIP_V4.parse::<std::net::IpAddr>()?, 80).into();
    topo.client.enter(|| -> anyhow::Result<String> {
        let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: demo\r\n\r\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let body = text
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or("")
            .trim()
            .to_owned();
        Ok(body)
    })
}

fn agent_config(dir: &Path, host_id: &str) -> anyhow::Result<PathBuf> {
    let b = dir.join("agent");
    let text = format!(
        r#"# lb-agent configuration of the demo (format: docs/agent-serve.md)
host_id = "{host_id}"
interfaces = ["eth0", "eth1"]
vip_interface = "eth0"
pin_dir = ""
state_dir = "{state}"

[api]
bind = "{MGMT_AGENT}:9443"
cert = "{cert}"
key = "{key}"
client_ca = "{ca}"

[heartbeat]
controllers = ["{MGMT_CONTROLLER}:5555"]
interval_ms = 1000
key_file = "{hb}"
"#,
        state = dir.join("agent-state").display(),
        cert = b.join("agent.pem").display(),
        key = b.join("agent-key.pem").display(),
        ca = b.join("client-ca.pem").display(),
        hb = b.join("heartbeat.key").display(),
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub fn run(bind: &str) -> anyhow::Result<()> {
    if !shell::is_root() {
        bail!(
            "the demo creates network namespaces and attaches XDP programs: run it as root \
             (`sudo -E cargo xtask run`), or `cargo xtask run --api-only` for the API alone"
        );
    }
    setup::run(&setup::Args::default())?;
    step("building lb-api and lb-agent");
    shell::run(cargo().args(["build", "--package", "lb-api", "--package", "lb-agent"]))?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }

    let dir = workspace_root().join("target/demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    // A previous demo killed hard leaves its management link behind.
    let _ = Command::new("ip")
        .args(["link", "del", MGMT_ROOT])
        .stderr(Stdio::null())
        .status();

    step("creating namespaces: client, amphora host (lb), switch, webserver1, webserver2");
    let topo = LbTopology::without_vips(2);
    topo.lb.veth_to_root("mgmt0", MGMT_ROOT);
    topo.lb.addr("mgmt0", &format!("{MGMT_AGENT}/30"));
    shell::run(Command::new("ip").args([
        "addr",
        "add",
        &format!("{MGMT_CONTROLLER}/30"),
        "dev",
        MGMT_ROOT,
    ]))?;
    let _web: Vec<servers::Server> = topo
        .members
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let addr = SocketAddr::new(
                topology::member_v4(i)
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
                80,
            );
            servers::http_for(
                ns,
                addr,
                &format!("you hit: webserver{}", i + 1),
                SERVER_LIFETIME,
            )
        })
        .collect();

    step("making the controller and agent certificates");
    let certs = dir.join("certs");
    let lb_api = binary("lb-api");
    shell::run(
        Command::new(&lb_api)
            .args(["certs", "init", "--dir"])
            .arg(&certs),
    )?;
    shell::run(
        Command::new(&lb_api)
            .args([
                "certs",
                "issue-agent",
                "--name",
                "amphora1",
                "--address",
                MGMT_AGENT,
                "--dir",
            ])
            .arg(&certs)
            .arg("--out")
            .arg(dir.join("agent")),
    )?;

    let db = format!("sqlite://{}", dir.join("lb-api.db").display());
    let api_log = dir.join("lb-api.log");
    step(&format!(
        "starting lb-api on http://{bind}/ (log: {})",
        api_log.display()
    ));
    let mut api = Proc(
        Command::new(&lb_api)
            .args([
                "serve",
                "--bind",
                bind,
                "--db",
                &db,
                "--noauth-project",
                "demo",
                "--certs",
            ])
            .arg(&certs)
            .args(["--heartbeat-bind", &format!("{MGMT_CONTROLLER}:5555")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&api_log)?)
            .spawn()
            .context("starting lb-api")?,
    );
    wait_tcp(bind.parse()?, "lb-api", &mut api.0, &api_log)?;

    let cli = Cli {
        bin: setup::oscli_dir()?.join("bin/openstack"),
        endpoint: format!("http://{bind}"),
    };
    cli.run(&["network", "create", "private"])?;
    cli.run(&[
        "subnet",
        "create",
        "private-subnet",
        "--network",
        "private",
        "--subnet-range",
        "198.18.0.0/24",
    ])?;

    step("registering the amphora host");
    let host = shell::capture(
        Command::new(&lb_api)
            .args([
                "host",
                "add",
                "--db",
                &db,
                "--name",
                "amphora1",
                "--address",
                MGMT_AGENT,
            ])
            .args([
                "--subnet",
                "private-subnet",
                "--snat-ipv4",
                topology::SNAT_V4,
            ]),
    )?;
    let host: serde_json::Value =
        serde_json::from_str(&host).context("`lb-api host add` printed no JSON")?;
    let host_id = host["id"]
        .as_str()
        .context("`lb-api host add` printed no id")?
        .to_owned();

    let agent_log = dir.join("lb-agent.log");
    step(&format!(
        "starting lb-agent on the amphora host (log: {})",
        agent_log.display()
    ));
    let config = agent_config(&dir, &host_id)?;
    let mut agent = Proc(
        Command::new("ip")
            .args(["netns", "exec", topo.lb.name()])
            .arg(binary("lb-agent"))
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&agent_log)?)
            .spawn()
            .context("starting lb-agent")?,
    );
    std::thread::sleep(Duration::from_millis(500));
    if let Ok(Some(status)) = agent.0.try_wait() {
        bail!(
            "lb-agent exited ({status}):\n{}",
            std::fs::read_to_string(&agent_log).unwrap_or_default()
        );
    }

    step("creating the load balancer through the API (each --wait polls every 5 s)");
    cli.run(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--vip-address",
        topology::VIP_V4,
        "--wait",
    ])?;
    cli.run(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "listener1",
        "--protocol",
        "TCP",
        "--protocol-port",
        "80",
        "--wait",
        "lb1",
    ])?;
    cli.run(&[
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
        "TCP",
        "--wait",
    ])?;
    for i in 0..2 {
        cli.run(&[
            "loadbalancer",
            "member",
            "create",
            "--name",
            &format!("webserver{}", i + 1),
            "--address",
            &topology::member_v4(i),
            "--protocol-port",
            "80",
            "--wait",
            "pool1",
        ])?;
    }

    step(&format!(
        "six requests from the client namespace to http://{}/",
        topology::VIP_V4
    ));
    for _ in 0..6 {
        match request(&topo) {
            Ok(body) => println!("    {body}"),
            Err(e) => println!("    request failed: {e}"),
        }
    }
    let oscli = cli.bin.display();
    println!(
        "\nThe demo keeps running. In another shell (as root):\n\
         \n  export OS_AUTH_TYPE=none OS_ENDPOINT=http://{bind}\
         \n  {oscli} loadbalancer status show lb1\
         \n  {oscli} loadbalancer stats show lb1\
         \n  {oscli} loadbalancer member set --weight 0 pool1 webserver1\
         \n  ip netns exec {client} bash -c 'exec 3<>/dev/tcp/{vip}/80; printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3; cat <&3'\
         \n\nLogs: {api_log} and {agent_log}. Ctrl-C removes everything.",
        client = topo.client.name(),
        vip = topology::VIP_V4,
        api_log = api_log.display(),
        agent_log = agent_log.display(),
    );
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if let Ok(Some(status)) = agent.0.try_wait() {
            step(&format!("lb-agent exited ({status}); stopping"));
            break;
        }
        if let Ok(Some(status)) = api.0.try_wait() {
            step(&format!("lb-api exited ({status}); stopping"));
            break;
        }
    }
    step("removing the processes, namespaces and links");
    drop(agent);
    drop(api);
    drop(topo);
    Ok(())
}
