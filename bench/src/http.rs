//! HTTP requests per second on the namespace topology (`LbTopology`: client → lb → member):
//! keep-alive GETs of a 32-byte body, driven by `wrk` (Debian's) from the client namespace, in
//! four configurations:
//!
//! - `direct`: no load balancer, wrk talks to the member through the lb namespace as a plain
//!   router (what client, member and forwarding cost by themselves: the floor);
//! - `haproxy`: Debian's HAProxy in HTTP mode in the lb namespace, configured as Octavia's
//!   amphora configures an HTTP listener, to the VIP;
//! - `lb`: `lb-agent run` in the lb namespace, its L7 proxy serving an HTTP listener on the
//!   VIP (the agent as a process of its own, so its CPU is counted like HAProxy's);
//! - `haproxy_behind_xdp`: HAProxy again, with `lb-agent run` beside it, its data plane
//!   attached to the lb namespace's veths and a state without HTTP listener (XDP passes every
//!   packet of the run, as it passes the proxy's): HAProxy on the footing of the agent's proxy,
//!   which pays for XDP on veths (the copy into an XDP frame of every packet) in every run.
//!
//! The member is a hyper server (multi-thread runtime, one worker per CPU) answering every
//! request with the same body and counting what it serves. Figures are measured in rounds,
//! each round one sample of every configuration (the proxies started for their sample only),
//! so that the machine's drift falls on all alike. A sample is one wrk run; before it, one
//! request must come back `200` with the member's body. wrk's non-2xx/3xx answers and socket
//! errors, and any answer the member did not serve, are counted as errors and flagged in the
//! report. CPU is the whole machine's busy time from `/proc/stat` (client, proxy and member
//! share the two CPUs), per completed request.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use lb_testkit::{LbTopology, Netns, topology::VIP_V4};

use crate::{cps, stats::Stat};

mod https;
mod member;
mod process;
use member::Member;
use process::{Process, temp_file};

/// How long and how hard.
pub struct Effort {
    /// Rounds (one sample of each configuration per round).
    pub samples: usize,
    /// Length of one wrk run (wrk takes whole seconds).
    pub seconds: u32,
    /// Keep-alive connections wrk holds open.
    pub connections: usize,
    /// wrk's threads, and the member's workers.
    pub threads: usize,
}

/// What one configuration achieved, min/median/max over samples.
pub struct Run {
    /// Completed requests per second (wrk's figure).
    pub rps: Stat,
    /// Busy share of all CPUs, %.
    pub cpu_busy_pct: Stat,
    /// CPU time of the whole machine per completed request, µs.
    pub cpu_us_per_req: Stat,
    /// Failed answers over all samples: non-2xx/3xx, socket errors, answers the member did not
    /// serve. Anything but 0 flags the figure.
    pub errors: u64,
}

/// The three configurations on one topology.
pub struct Http {
    pub direct: Run,
    /// `None` when haproxy is not installed.
    pub haproxy: Option<Run>,
    /// The agent's proxy, or why it could not be measured.
    pub lb: Result<Run, String>,
    /// HAProxy again, with the agent's data plane attached to the lb namespace's veths (its
    /// state holds no HTTP listener: every packet of the run goes through XDP and is passed,
    /// as the proxy's are). `None` when HAProxy or the agent is missing.
    pub haproxy_behind_xdp: Option<Run>,
    /// The same GETs over TLS (TERMINATED_HTTPS on VIP:443, keep-alive): HAProxy's and the
    /// agent's; `None` when not measured.
    pub https_haproxy: Option<Run>,
    pub https_lb: Option<Run>,
    /// GETs over TLS that each close their connection: full handshakes per second, with the
    /// ECDSA P-256 and the RSA 2048 certificate.
    pub handshakes_haproxy: Option<Run>,
    pub handshakes_lb: Option<Run>,
    pub rsa_handshakes_haproxy: Option<Run>,
    pub rsa_handshakes_lb: Option<Run>,
}

/// The member's address.
const MEMBER: &str = "198.18.1.11:8080";
/// The member's answer to every request.
const BODY: &[u8; 32] = b"you hit: m1 (a 32-byte answer)\n\n";
/// Where HAProxy lives on Debian.
const HAPROXY: &str = "/usr/sbin/haproxy";
/// Longest wait for a freshly started proxy to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// A sample whose errors exceed this share of its requests does not count (the figure would
/// not be of a working load balancer).
const MAX_ERROR_SHARE: f64 = 0.5;

/// One sample's figures.
struct Sample {
    rps: f64,
    cpu_busy_pct: f64,
    cpu_us_per_req: f64,
    errors: u64,
}

fn summarise(all: &[Sample]) -> Run {
    let stat = |f: fn(&Sample) -> f64| Stat::of(&all.iter().map(f).collect::<Vec<_>>());
    Run {
        rps: stat(|s| s.rps),
        cpu_busy_pct: stat(|s| s.cpu_busy_pct),
        cpu_us_per_req: stat(|s| s.cpu_us_per_req),
        errors: all.iter().map(|s| s.errors).sum(),
    }
}

/// What one wrk run reported.
#[derive(Debug, PartialEq)]
struct Wrk {
    /// Completed requests ("N requests in ...").
    requests: u64,
    /// "Requests/sec".
    rps: f64,
    /// "Non-2xx or 3xx responses" (0 when absent).
    non_2xx: u64,
    /// Sum of "Socket errors: connect, read, write, timeout" (0 when absent).
    socket_errors: u64,
}

/// Parses wrk's report (the lines it prints at the end of a run).
fn parse_wrk(out: &str) -> anyhow::Result<Wrk> {
    let mut requests = None;
    let mut rps = None;
    let (mut non_2xx, mut socket_errors) = (0, 0);
    for line in out.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse::<f64>().ok();
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = v.trim().parse().context("wrk's non-2xx count")?;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 12, write 0, timeout 0"
            for part in v.split(',') {
                let n = part.split_whitespace().nth(1).unwrap_or("0");
                socket_errors += n.parse::<u64>().context("wrk's socket errors")?;
            }
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            requests = n.trim().parse().ok();
        }
    }
    Ok(Wrk {
        requests: requests.context("no request count in wrk's output")?,
        rps: rps.context("no Requests/sec in wrk's output")?,
        non_2xx,
        socket_errors,
    })
}

/// One sample: a wrk run from the client namespace against `url`.
fn sample(client: &Netns, url: &str, member: &Member, effort: &Effort) -> anyhow::Result<Sample> {
    sample_with(client, url, &[], member, effort)
}

/// One sample where every request closes its connection (`Connection: close`): over TLS,
/// every request pays a full handshake, so the rate is the proxy's handshake rate.
fn sample_handshakes(
    client: &Netns,
    url: &str,
    member: &Member,
    effort: &Effort,
) -> anyhow::Result<Sample> {
    sample_with(client, url, &["-H", "Connection: close"], member, effort)
}

/// One wrk run with `extra` arguments.
fn sample_with(
    client: &Netns,
    url: &str,
    extra: &[&str],
    member: &Member,
    effort: &Effort,
) -> anyhow::Result<Sample> {
    let (threads, connections, seconds) = (
        effort.threads.to_string(),
        effort.connections.to_string(),
        format!("{}s", effort.seconds),
    );
    let served0 = member.served();
    let (busy0, total0) = cps::cpu_jiffies();
    let mut args = vec![
        "-t",
        &threads,
        "-c",
        &connections,
        "-d",
        &seconds,
        "--timeout",
        "2s",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let out = client.exec("wrk", &args);
    let (busy1, total1) = cps::cpu_jiffies();
    let served = member.served() - served0;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "wrk failed ({}): {}{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let wrk = parse_wrk(&stdout).with_context(|| format!("wrk's output:\n{stdout}"))?;
    ensure!(wrk.requests > 0, "no request completed: {stdout}");
    // Every answer wrk counted must have come from the member (the member may have served a
    // few more: those under way when wrk stopped).
    let not_from_member = wrk.requests.saturating_sub(served);
    let errors = wrk.non_2xx + wrk.socket_errors + not_from_member;
    if errors > 0 {
        eprintln!(
            "[bench] http {url}: {} non-2xx/3xx, {} socket errors, {not_from_member} answers \
             the member did not serve, of {} requests",
            wrk.non_2xx, wrk.socket_errors, wrk.requests
        );
    }
    ensure!(
        (errors as f64) <= MAX_ERROR_SHARE * wrk.requests as f64,
        "{errors} of {} requests failed",
        wrk.requests
    );
    let busy = (busy1 - busy0) as f64;
    Ok(Sample {
        rps: wrk.rps,
        cpu_busy_pct: 100.0 * busy / (total1 - total0).max(1) as f64,
        cpu_us_per_req: busy / cps::USER_HZ * 1e6 / wrk.requests as f64,
        errors,
    })
}

/// One GET of `/` from the client namespace: it must be answered `200` with the member's body.
fn check_answer(client: &Netns, target: SocketAddr) -> anyhow::Result<()> {
    let answer = client
        .enter(|| -> std::io::Result<Vec<u8>> {
            let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(1))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
            read_response(&mut s)
        })
        .with_context(|| format!("GET http://{target}/"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("GET http://{target}/: incomplete answer {text:?}"))?;
    let status = head.lines().next().unwrap_or_default();
    ensure!(
        status.split_whitespace().nth(1) == Some("200"),
        "GET http://{target}/ answered {status:?}"
    );
    ensure!(
        body.as_bytes() == BODY,
        "GET http://{target}/: the body is not the member's: {body:?}"
    );
    Ok(())
}

/// Reads one response: the head, then `Content-Length` bytes (or up to the close without one).
fn read_response(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        if let Some(length) = length
            && buf.len() >= end + 4 + length
        {
            buf.truncate(end + 4 + length);
            return Ok(buf);
        }
    }
}

/// Waits until `target` answers like the member, while `process` (if any) keeps running.
fn wait_ready(
    client: &Netns,
    target: SocketAddr,
    mut process: Option<&mut Process>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let err = match check_answer(client, target) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if let Some(p) = process.as_deref_mut()
            && let Some(status) = p.exited()
        {
            bail!(
                "{} exited ({status}) before answering: {err:#}\n{}",
                p.what,
                p.log_tail()
            );
        }
        if Instant::now() >= deadline {
            let log = process.map_or(String::new(), |p| p.log_tail());
            bail!(
                "no answer from the member through http://{target}/ after {} s: {err:#}\n{log}",
                READY_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// HAProxy's configuration: what Octavia's amphora driver writes for an HTTP listener on the
/// VIP with one HTTP pool of one member (no inserted headers, so no `option forwardfor`; no
/// logging, no health monitor), plus `nbthread 2` for this machine's two CPUs. One change:
/// the connection limits are 4096 instead of Octavia's 50000 default, which needs more file
/// descriptors than this machine's hard limit (20000) lets HAProxy raise its own limit to; 64
/// connections are used.
const HAPROXY_CFG: &str = "global
    maxconn 4096
    nbthread 2

defaults
    no log
    retries 3
    option redispatch
    option splice-request
    option splice-response
    option http-keep-alive

frontend web
    maxconn 4096
    bind 198.18.0.100:80
    mode http
    default_backend p:web
    timeout client 50000

backend p:web
    mode http
    http-reuse safe
    balance roundrobin
    fullconn 4096
    option allbackups
    timeout connect 5000
    timeout server 50000
    server m 198.18.1.11:8080 weight 1
";

fn start_haproxy(topo: &LbTopology, cert: &https::Certs) -> anyhow::Result<Process> {
    let pem = temp_file("haproxy-tls.pem");
    std::fs::write(
        &pem,
        format!("{}{}", cert.ecdsa.cert_pem, cert.ecdsa.key_pem),
    )
    .with_context(|| format!("{}", pem.display()))?;
    let rsa_pem = temp_file("haproxy-tls-rsa.pem");
    std::fs::write(
        &rsa_pem,
        format!("{}{}", cert.rsa.cert_pem, cert.rsa.key_pem),
    )
    .with_context(|| format!("{}", rsa_pem.display()))?;
    let cfg = temp_file("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!("{HAPROXY_CFG}{}", https::haproxy_frontends(&pem, &rsa_pem)),
    )
    .with_context(|| format!("{}", cfg.display()))?;
    let cfg_arg = cfg.to_string_lossy().into_owned();
    let mut p = Process::spawn(
        "haproxy",
        &topo.lb,
        Path::new(HAPROXY),
        &["-db", "-f", &cfg_arg],
        vec![cfg, pem, rsa_pem],
    )?;
    wait_ready(&topo.client, vip()?, Some(&mut p))?;
    Ok(p)
}

/// The agent's desired state: one HTTP listener on VIP:80 (served by its L7 proxy), one HTTP
/// pool with the member. The SNAT port range stays below the lb namespace's ephemeral ports
/// (32768–60999), which the proxy's own connections to the member use.
fn agent_state(cert: &https::Certs) -> serde_json::Value {
    serde_json::json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": "198.18.1.1", "port_min": 20000, "port_max": 32767},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [{"id": "web", "protocol": "HTTP", "protocol_port": 80,
                "default_pool_id": "p"}, cert.agent_listeners()[0], cert.agent_listeners()[1]],
            "pools": [{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"id": "m", "address": "198.18.1.11", "protocol_port": 8080}]}]}]
    })
}

/// A state with the data plane attached and no proxied listener: one TCP listener on VIP:9000
/// (so the XDP program has a VIP to look packets up against), nothing on port 80.
fn xdp_only_state(cert: &https::Certs) -> serde_json::Value {
    let mut state = agent_state(cert);
    state["loadbalancers"][0]["listeners"] = serde_json::json!([{"id": "tcp",
        "protocol": "TCP", "protocol_port": 9000, "default_pool_id": "p"}]);
    state["loadbalancers"][0]["pools"][0]["protocol"] = "TCP".into();
    state
}

/// HAProxy on VIP:80 with the agent's data plane attached beside it.
fn start_haproxy_behind_xdp(
    topo: &LbTopology,
    agent: &Path,
    cert: &https::Certs,
) -> anyhow::Result<(Process, Process)> {
    let mut agent = spawn_agent(topo, agent, &xdp_only_state(cert))?;
    // The TCP listener (balanced by XDP to the member) answers once the data plane is
    // attached and programmed.
    let tcp: SocketAddr = format!("{VIP_V4}:9000").parse()?;
    wait_ready(&topo.client, tcp, Some(&mut agent))
        .context("the agent's data plane does not serve the TCP listener on VIP:9000")?;
    let haproxy = start_haproxy(topo, cert)?;
    Ok((agent, haproxy))
}

fn start_agent(topo: &LbTopology, agent: &Path, cert: &https::Certs) -> anyhow::Result<Process> {
    let mut p = spawn_agent(topo, agent, &agent_state(cert))?;
    wait_ready(&topo.client, vip()?, Some(&mut p))
        .context("the agent's L7 proxy does not serve the HTTP listener on VIP:80")?;
    Ok(p)
}

fn spawn_agent(
    topo: &LbTopology,
    agent: &Path,
    desired: &serde_json::Value,
) -> anyhow::Result<Process> {
    let state = temp_file("agent-state.json");
    std::fs::write(&state, desired.to_string()).with_context(|| format!("{}", state.display()))?;
    let state_arg = state.to_string_lossy().into_owned();
    Process::spawn(
        "lb-agent",
        &topo.lb,
        agent,
        &[
            "run",
            "--state",
            &state_arg,
            "--iface",
            "eth0",
            "--iface",
            "eth1",
            // Nothing pinned: the data plane goes with the process.
            "--no-pin",
            "--interval",
            "0",
        ],
        vec![state],
    )
}

/// The `lb-agent` binary: `$LB_AGENT_BIN`, else the one beside this benchmark's executable
/// (`target/release/lb-agent`). Run by cargo (as `cargo xtask bench` runs it), the benchmark
/// builds it first with its own profile, so the figure is of the current code.
fn agent_binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("LB_AGENT_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe().context("locating lb-bench")?;
    let bin = exe.with_file_name("lb-agent");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = exe
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "release");
        let mut build = Command::new(cargo);
        build.args(["build", "--package", "lb-agent", "--bin", "lb-agent"]);
        if release {
            build.arg("--release");
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("workspace root")?;
        let status = build
            .current_dir(workspace)
            .status()
            .context("running cargo build for lb-agent")?;
        ensure!(status.success(), "building lb-agent failed ({status})");
    }
    ensure!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p lb-agent` (or point \
         LB_AGENT_BIN at one)",
        bin.display()
    );
    Ok(bin)
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// VIP:80.
fn vip() -> anyhow::Result<SocketAddr> {
    Ok(format!("{VIP_V4}:80").parse()?)
}

/// Runs the three configurations in rounds on one topology. A failure of the agent's run is
/// kept as the reason its figure is missing (the other two are still measured); any other
/// failure ends the benchmark.
pub fn run(effort: &Effort) -> anyhow::Result<Http> {
    ensure!(
        on_path("wrk"),
        "wrk is not installed (cargo xtask setup installs it)"
    );
    let haproxy_installed = Path::new(HAPROXY).exists();
    if !haproxy_installed {
        eprintln!("[bench] haproxy not installed (cargo xtask setup installs it): skipped");
    }
    let agent = agent_binary().map_err(|e| format!("{e:#}"));
    let topo = LbTopology::new(1);
    topo.members[0].sysctl("net.core.somaxconn", "4096");
    cps::route_directly(&topo);
    let member = Member::start(&topo.members[0], effort.threads)?;
    let member_addr: SocketAddr = MEMBER.parse()?;
    let (direct_url, vip_url) = (format!("http://{MEMBER}/"), format!("http://{VIP_V4}/"));
    wait_ready(&topo.client, member_addr, None).context("the member")?;

    let (mut direct, mut haproxy, mut lb) = (Vec::new(), Vec::new(), Vec::new());
    let mut behind_xdp = Vec::new();
    let (mut https_haproxy, mut https_lb) = (Vec::new(), Vec::new());
    let (mut handshakes_haproxy, mut handshakes_lb) = (Vec::new(), Vec::new());
    let cert = https::Certs::new()?;
    let (https_url, rsa_url) = (https::url(), https::rsa_url());
    let (mut rsa_haproxy, mut rsa_lb) = (Vec::new(), Vec::new());
    let mut lb_failed = agent.as_ref().err().cloned();
    for round in 1..=effort.samples {
        direct.push(sample(&topo.client, &direct_url, &member, effort).context("direct")?);
        let mut line = format!("direct {:.0}", direct[direct.len() - 1].rps);
        if haproxy_installed {
            let proxy = start_haproxy(&topo, &cert)?;
            haproxy.push(sample(&topo.client, &vip_url, &member, effort).context("haproxy")?);
            line += &format!(", haproxy {:.0}", haproxy[haproxy.len() - 1].rps);
            let s = sample(&topo.client, &https_url, &member, effort).context("haproxy https")?;
            line += &format!(", haproxy https {:.0}", s.rps);
            https_haproxy.push(s);
            let s = sample_handshakes(&topo.client, &https_url, &member, effort)
                .context("haproxy handshakes")?;
            line += &format!(", haproxy handshakes {:.0}", s.rps);
            handshakes_haproxy.push(s);
            let s = sample_handshakes(&topo.client, &rsa_url, &member, effort)
                .context("haproxy RSA handshakes")?;
            line += &format!(", haproxy RSA handshakes {:.0}", s.rps);
            rsa_haproxy.push(s);
            drop(proxy);
            if let (Ok(bin), None) = (&agent, &lb_failed) {
                let measured = start_haproxy_behind_xdp(&topo, bin, &cert).and_then(|_running| {
                    sample(&topo.client, &vip_url, &member, effort).context("haproxy behind xdp")
                });
                match measured {
                    Ok(s) => {
                        line += &format!(", haproxy behind xdp {:.0}", s.rps);
                        behind_xdp.push(s);
                    }
                    Err(e) => {
                        eprintln!("[bench] http haproxy behind xdp: {e:#}");
                        lb_failed = Some(format!("{e:#}"));
                    }
                }
            }
        }
        if let (Ok(bin), None) = (&agent, &lb_failed) {
            let measured = start_agent(&topo, bin, &cert).and_then(|_agent| {
                let plain =
                    sample(&topo.client, &vip_url, &member, effort).context("lb-agent's proxy")?;
                let tls = sample(&topo.client, &https_url, &member, effort)
                    .context("lb-agent's proxy over TLS")?;
                let handshakes = sample_handshakes(&topo.client, &https_url, &member, effort)
                    .context("lb-agent's proxy, TLS handshakes")?;
                let rsa = sample_handshakes(&topo.client, &rsa_url, &member, effort)
                    .context("lb-agent's proxy, RSA handshakes")?;
                Ok((plain, tls, handshakes, rsa))
            });
            match measured {
                Ok((s, tls, handshakes, rsa)) => {
                    line += &format!(
                        ", lb {:.0}, lb https {:.0}, lb handshakes {:.0}, lb RSA handshakes {:.0}",
                        s.rps, tls.rps, handshakes.rps, rsa.rps
                    );
                    lb.push(s);
                    https_lb.push(tls);
                    handshakes_lb.push(handshakes);
                    rsa_lb.push(rsa);
                }
                Err(e) => {
                    eprintln!("[bench] http lb: {e:#}");
                    lb_failed = Some(format!("{e:#}"));
                }
            }
        }
        eprintln!(
            "[bench] http round {round}/{}: {line} req/s",
            effort.samples
        );
    }
    Ok(Http {
        direct: summarise(&direct),
        haproxy: haproxy_installed.then(|| summarise(&haproxy)),
        haproxy_behind_xdp: (lb_failed.is_none() && !behind_xdp.is_empty())
            .then(|| summarise(&behind_xdp)),
        https_haproxy: (!https_haproxy.is_empty()).then(|| summarise(&https_haproxy)),
        https_lb: (lb_failed.is_none() && !https_lb.is_empty()).then(|| summarise(&https_lb)),
        handshakes_haproxy: (!handshakes_haproxy.is_empty())
            .then(|| summarise(&handshakes_haproxy)),
        handshakes_lb: (lb_failed.is_none() && !handshakes_lb.is_empty())
            .then(|| summarise(&handshakes_lb)),
        rsa_handshakes_haproxy: (!rsa_haproxy.is_empty()).then(|| summarise(&rsa_haproxy)),
        rsa_handshakes_lb: (lb_failed.is_none() && !rsa_lb.is_empty()).then(|| summarise(&rsa_lb)),
        lb: match lb_failed {
            Some(reason) => Err(reason),
            None => Ok(summarise(&lb)),
        },
    })
}

#[cfg(test)]
mod tests;
