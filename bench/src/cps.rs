//! TCP connections per second on the namespace topology (`LbTopology`: client → lb → member)
//! in three configurations: plain routing (no load balancer: the client connects to the member
//! through the lb namespace as a router), HAProxy in TCP mode (Debian's `haproxy`, in the lb
//! namespace) and the data plane (XDP full NAT, no proxy), with the machine's CPU use.
//!
//! Each connection is a real TCP connection from the client namespace: connect, read the
//! member's one-line answer, close. The client keeps 64 in flight on one event loop per CPU,
//! and the member serves them the same way, for a fixed time; the figure is completed
//! connections per second of wall time. CPU is the busy share of all CPUs from `/proc/stat`:
//! the machine's, so it includes client and member, which share the CPUs with what is
//! measured. The plain-routing run shows what they cost by themselves: subtracted from the
//! other runs' CPU per connection, it leaves what the load balancer adds.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use lb_agent::dataplane::{AttachMode, Dataplane};
use lb_proto::DesiredState;
use lb_testkit::{LbTopology, Netns, topology::VIP_V4};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

use crate::stats::Stat;

/// How long and how hard.
pub struct Effort {
    pub samples: usize,
    pub seconds: f64,
    /// Connections the client keeps in flight at any time.
    pub concurrency: usize,
    /// Event loops (threads) of the client, and of the member's server.
    pub loops: usize,
}

/// What one configuration achieved, min/median/max over samples.
pub struct Run {
    /// Completed connections per second.
    pub cps: Stat,
    /// Busy share of all CPUs, %.
    pub cpu_busy_pct: Stat,
    /// CPU time of the whole machine per completed connection, µs.
    pub cpu_us_per_conn: Stat,
}

/// The three configurations on one topology.
pub struct Cps {
    /// No load balancer: the client connects to the member, the lb namespace only routes. What
    /// client, member and forwarding cost by themselves.
    pub direct: Run,
    pub haproxy: Option<Run>,
    pub lb: Run,
}

/// One sample's figures.
struct Sample {
    cps: f64,
    cpu_busy_pct: f64,
    cpu_us_per_conn: f64,
}

const MEMBER: &str = "198.18.1.11:8080";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A single-threaded event loop (client and member each run one, on their own thread in their
/// own namespace): the load generator should cost as little as possible per connection, since
/// it shares the machine's two CPUs with what it measures; a blocking thread per connection
/// spends most of its time switching threads.
fn event_loop() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The member's server: one line per connection, then waits for the client to close first
/// (so TIME_WAIT stays on the client side, where `tcp_tw_reuse` recycles it; a member-side
/// TIME_WAIT would refuse SNAT ports reused within a minute). Stops when dropped.
struct Server {
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Netns, loops: usize) -> anyhow::Result<Self> {
        let addr: SocketAddr = MEMBER.parse()?;
        // Bound in the member's namespace; the connections it accepts live there too, whatever
        // thread serves them.
        let listener = ns
            .enter(|| std::net::TcpListener::bind(addr))
            .context("bind member")?;
        listener.set_nonblocking(true)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut threads = Vec::new();
        for _ in 0..loops {
            let listener = listener.try_clone()?;
            let rt = event_loop()?;
            let mut stopped = stopped.clone();
            threads.push(std::thread::spawn(move || {
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("[bench] member server: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        () = serve(listener) => {}
                        _ = stopped.changed() => {}
                    }
                });
            }));
        }
        Ok(Self { stop, threads })
    }
}

async fn serve(listener: TcpListener) {
    loop {
        // A transient accept error (e.g. out of descriptors) skips that connection; the pause
        // keeps a lasting one from spinning the loop.
        let Ok((mut s, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            // A client gone early is its business: errors just end the connection.
            let _answered = tokio::time::timeout(CONNECT_TIMEOUT, async {
                s.write_all(b"m1\n").await?;
                s.read(&mut buf).await
            })
            .await;
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _sent = self.stop.send(true);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                eprintln!("[bench] member server thread panicked");
            }
        }
    }
}

/// Busy and total jiffies of all CPUs.
pub(crate) fn cpu_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// One sample: the client keeps `concurrency` connections to `target` in flight for
/// `seconds`.
fn sample(client: &Netns, target: SocketAddr, effort: &Effort) -> anyhow::Result<Sample> {
    let (busy0, total0) = cpu_jiffies();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(effort.seconds);
    // One event loop per CPU, each on its own thread in the client namespace.
    let per_loop = effort.concurrency.div_ceil(effort.loops).max(1);
    let counts = std::thread::scope(|scope| {
        let loops: Vec<_> = (0..effort.loops)
            .map(|_| {
                scope.spawn(|| {
                    client.enter(|| -> anyhow::Result<(u64, u64)> {
                        let rt = event_loop()?;
                        Ok(rt.block_on(async {
                            let mut tasks = tokio::task::JoinSet::new();
                            for _ in 0..per_loop {
                                tasks.spawn(connections_until(target, deadline));
                            }
                            let (mut done, mut failed) = (0, 0);
                            while let Some(counts) = tasks.join_next().await {
                                // A panicked task counts as nothing done.
                                let (d, f) = counts.unwrap_or((0, 1));
                                done += d;
                                failed += f;
                            }
                            (done, failed)
                        }))
                    })
                })
            })
            .collect();
        loops
            .into_iter()
            .map(|l| {
                l.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client loop panicked")))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let (done, failed) = counts
        .iter()
        .fold((0, 0), |(d, f), &(d1, f1)| (d + d1, f + f1));
    let secs = started.elapsed().as_secs_f64();
    let (busy1, total1) = cpu_jiffies();
    ensure!(
        failed * 100 <= done.max(1),
        "{failed} of {} connections failed",
        done + failed
    );
    let busy = (busy1 - busy0) as f64;
    Ok(Sample {
        cps: done as f64 / secs,
        cpu_busy_pct: 100.0 * busy / (total1 - total0).max(1) as f64,
        cpu_us_per_conn: busy / USER_HZ * 1e6 / done.max(1) as f64,
    })
}

/// Clock ticks per second of `/proc/stat` (USER_HZ, 100 on every Linux architecture).
pub(crate) const USER_HZ: f64 = 100.0;

/// One connection after the other until `deadline`: connect, read the member's line, close
/// first. Returns (completed, failed). The sample ends at `deadline` sharp: a connection still
/// under way then is abandoned and counted as neither (were it waited for, a SYN lost just
/// before the end would stretch the sample by a whole retransmission timeout of idle CPUs).
async fn connections_until(target: SocketAddr, deadline: Instant) -> (u64, u64) {
    let (mut done, mut failed) = (0, 0);
    let mut buf = [0u8; 64];
    let end = tokio::time::Instant::from_std(deadline);
    loop {
        let now = tokio::time::Instant::now();
        if now >= end {
            break;
        }
        let one = tokio::time::timeout_at((now + CONNECT_TIMEOUT).min(end), async {
            let mut s = TcpStream::connect(target).await?;
            let mut got = 0;
            while got < 3 {
                match s.read(&mut buf[got..]).await? {
                    0 => break,
                    n => got += n,
                }
            }
            Ok::<_, std::io::Error>(got >= 3)
        })
        .await;
        match one {
            Ok(Ok(true)) => done += 1,
            Err(_) if tokio::time::Instant::now() >= end => break,
            _ => failed += 1,
        }
    }
    (done, failed)
}

fn samples(
    client: &Netns,
    target: SocketAddr,
    effort: &Effort,
    mut between: impl FnMut(),
) -> anyhow::Result<Run> {
    let mut all = Vec::new();
    for _ in 0..effort.samples {
        all.push(sample(client, target, effort)?);
        between();
    }
    let stat = |f: fn(&Sample) -> f64| Stat::of(&all.iter().map(f).collect::<Vec<_>>());
    Ok(Run {
        cps: stat(|s| s.cps),
        cpu_busy_pct: stat(|s| s.cpu_busy_pct),
        cpu_us_per_conn: stat(|s| s.cpu_us_per_conn),
    })
}

/// VIP:80.
fn vip() -> anyhow::Result<SocketAddr> {
    Ok(format!("{VIP_V4}:80").parse()?)
}

/// Waits until VIP:80 accepts connections from the client namespace.
fn wait_for_vip(client: &Netns) -> anyhow::Result<()> {
    let target = vip()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if client
            .enter(|| std::net::TcpStream::connect_timeout(&target, CONNECT_TIMEOUT))
            .is_ok()
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("nothing answers on {target}")
}

const HAPROXY_CFG: &str = "global
    maxconn 4096
    nbthread 2
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend vip
    bind 198.18.0.100:80
    default_backend members
backend members
    server m1 198.18.1.11:8080
";

/// HAProxy in TCP mode in the lb namespace (`None` when haproxy is not installed).
fn haproxy(topo: &LbTopology, effort: &Effort) -> anyhow::Result<Option<Run>> {
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("[bench] haproxy not installed (cargo xtask setup installs it): skipped");
        return Ok(None);
    }
    let cfg = std::env::temp_dir().join(format!("lb-bench-haproxy-{}.cfg", std::process::id()));
    std::fs::write(&cfg, HAPROXY_CFG)?;
    let cfg_arg = cfg.to_string_lossy().into_owned();
    let result = {
        let _proxy = topo
            .lb
            .spawn("/usr/sbin/haproxy", &["-db", "-q", "-f", &cfg_arg]);
        wait_for_vip(&topo.client).and_then(|()| samples(&topo.client, vip()?, effort, || {}))
    };
    std::fs::remove_file(&cfg).with_context(|| format!("removing {}", cfg.display()))?;
    result.map(Some)
}

/// The data plane's state: one TCP listener on the VIP, one member, short idle timeouts so the
/// garbage collector frees SNAT ports between samples.
fn lb_state() -> anyhow::Result<DesiredState> {
    let json = serde_json::json!({
        "version": 1, "generation": 1,
        "snat": {"ipv4": "198.18.1.1", "port_min": 1024, "port_max": 65535},
        "loadbalancers": [{"id": "lb", "vip_address": VIP_V4,
            "listeners": [{"id": "tcp", "protocol": "TCP", "protocol_port": 80,
                "default_pool_id": "p", "timeout_client_data": 1000, "timeout_member_data": 1000}],
            "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m", "address": "198.18.1.11", "protocol_port": 8080}]}]}]
    });
    Ok(DesiredState::from_json(json.to_string().as_bytes())?)
}

fn data_plane(topo: &LbTopology, effort: &Effort) -> anyhow::Result<Run> {
    let mut dp = topo.lb.enter(|| -> anyhow::Result<Dataplane> {
        let mut dp = Dataplane::load()?;
        dp.attach("eth0", AttachMode::Native)?;
        dp.attach("eth1", AttachMode::Native)?;
        Ok(dp)
    })?;
    for (ns, iface) in topo.redirect_peers() {
        ns.enter(|| dp.attach_pass(iface))?;
    }
    dp.apply(&lb_state()?)?;
    wait_for_vip(&topo.client)?;
    let result = samples(&topo.client, vip()?, effort, || {
        // Between samples: forget the closed flows, so SNAT ports are free again.
        std::thread::sleep(Duration::from_millis(1100));
        let now = lb_agent::dataplane::gc::monotonic_ns();
        if let Err(e) = dp.collect_flows(now) {
            eprintln!("[bench] flow collection failed: {e}");
        }
    });
    // Drops during the run explain a low figure (each dropped SYN is a 1 s retransmit).
    let counters = dp.counters()?;
    let drops: Vec<String> = lb_common::drop::DropReason::ALL
        .iter()
        .map(|&r| (r, counters.dropped(r).packets))
        .filter(|&(_, n)| n > 0)
        .map(|(r, n)| format!("{} {n}", r.as_str()))
        .collect();
    if !drops.is_empty() {
        eprintln!(
            "[bench] data-plane drops during the TCP runs: {}",
            drops.join(", ")
        );
    }
    result
}

/// Runs both on one topology: HAProxy first, then the data plane (attached for its run only).
pub fn run(effort: &Effort) -> anyhow::Result<Cps> {
    let topo = LbTopology::new(1);
    for ns in [&topo.client, &topo.lb] {
        ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
        ns.sysctl("net.ipv4.tcp_tw_reuse", "1");
    }
    topo.members[0].sysctl("net.core.somaxconn", "4096");
    let _server = Server::start(&topo.members[0], effort.loops)?;
    let direct = direct(&topo, effort)?;
    let haproxy = haproxy(&topo, effort)?;
    let lb = data_plane(&topo, effort)?;
    Ok(Cps {
        direct,
        haproxy,
        lb,
    })
}

/// Plain routing: the client connects to the member itself, through the lb namespace as a
/// router (the routes are added for this run; they do not matter to the others, where the
/// client only talks to the VIP and the member only to the lb's SNAT address).
fn direct(topo: &LbTopology, effort: &Effort) -> anyhow::Result<Run> {
    route_directly(topo);
    samples(&topo.client, MEMBER.parse()?, effort, || {})
}

/// Routes between the client and the first member through the lb namespace (for the
/// plain-routing runs; the client then reaches 198.18.1.0/24 and the member 198.18.0.0/24).
pub(crate) fn route_directly(topo: &LbTopology) {
    topo.lb.sysctl("net.ipv4.ip_forward", "1");
    topo.client
        .ip(&["route", "add", "198.18.1.0/24", "via", "198.18.0.2"]);
    topo.members[0].ip(&["route", "add", "198.18.0.0/24", "via", "198.18.1.1"]);
}
