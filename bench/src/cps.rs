//! TCP connections per second through the VIP on the namespace topology (`LbTopology`: client
//! → lb → member), for HAProxy in TCP mode (Debian's `haproxy`, run in the lb namespace) and
//! for the data plane (XDP full NAT, no proxy), with the machine's CPU use during each run.
//!
//! Each connection is a real TCP connection from the client namespace: connect to VIP:80, read
//! the member's one-line answer, close. Workers run back to back for a fixed time; the figure
//! is completed connections per second of wall time. The member's server (one thread per
//! client worker: write a line, wait for the client's close) is fast enough that the path in
//! between is what is measured. CPU is the busy share of all CPUs from `/proc/stat`: the machine's, so it includes
//! client and member (and anything else running on the host).

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use lb_agent::dataplane::{AttachMode, Dataplane};
use lb_proto::DesiredState;
use lb_testkit::{LbTopology, Netns, topology::VIP_V4};

use crate::stats::Stat;

/// How long and how hard.
pub struct Effort {
    pub samples: usize,
    pub seconds: f64,
    /// Concurrent client connections (blocking workers).
    pub workers: usize,
}

/// Connections/s and CPU busy % for both, min/median/max over samples.
pub struct Cps {
    pub haproxy: Option<(Stat, Stat)>,
    pub lb: (Stat, Stat),
}

const MEMBER: &str = "198.18.1.11:8080";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The member's server: one line per connection, then waits for the client to close first
/// (so TIME_WAIT stays on the client side, where `tcp_tw_reuse` recycles it; a member-side
/// TIME_WAIT would refuse SNAT ports reused within a minute). Threads block in `accept` (a
/// polling accept would add its sleep to connections that arrive meanwhile) and stop when
/// dropped: the listening socket is shut down, which wakes them.
struct Server {
    stop: Arc<AtomicBool>,
    listener: TcpListener,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Netns, threads: usize) -> anyhow::Result<Self> {
        let addr: SocketAddr = MEMBER.parse()?;
        let listener = ns
            .enter(|| TcpListener::bind(addr))
            .context("bind member")?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for _ in 0..threads {
            let listener = listener.try_clone()?;
            let flag = stop.clone();
            handles.push(std::thread::spawn(move || serve(&listener, &flag)));
        }
        Ok(Self {
            stop,
            listener,
            threads: handles,
        })
    }
}

fn serve(listener: &TcpListener, stop: &AtomicBool) {
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut s, _)) => {
                // A client gone early is its business: errors just end the connection.
                let _answered = s
                    .set_read_timeout(Some(CONNECT_TIMEOUT))
                    .and_then(|()| s.write_all(b"m1\n"))
                    .and_then(|()| s.read(&mut buf));
            }
            // Shut down (the loop ends), or a transient accept error.
            Err(_) => {
                if !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // SAFETY: shutdown(2) on the listening socket this struct owns (open until it drops):
        // every thread blocked in accept returns with an error and sees the stop flag.
        unsafe {
            libc::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&self.listener),
                libc::SHUT_RDWR,
            );
        }
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                eprintln!("[bench] member server thread panicked");
            }
        }
    }
}

/// Busy and total jiffies of all CPUs.
fn cpu_jiffies() -> (u64, u64) {
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

/// One sample: workers in the client namespace connect for `seconds`; returns (connections
/// per second, CPU busy %).
fn sample(client: &Netns, effort: &Effort) -> anyhow::Result<(f64, f64)> {
    let target: SocketAddr = format!("{VIP_V4}:80").parse()?;
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let (busy0, total0) = cpu_jiffies();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(effort.seconds);
    client.enter(|| {
        std::thread::scope(|scope| {
            for _ in 0..effort.workers {
                scope.spawn(|| {
                    let mut buf = [0u8; 64];
                    while Instant::now() < deadline {
                        // Read the member's line, then close first.
                        let ok = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT).and_then(
                            |mut s| {
                                s.set_read_timeout(Some(CONNECT_TIMEOUT))?;
                                let mut got = 0;
                                while got < 3 {
                                    match s.read(&mut buf[got..])? {
                                        0 => break,
                                        n => got += n,
                                    }
                                }
                                Ok(got >= 3)
                            },
                        );
                        if matches!(ok, Ok(true)) {
                            done.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
    });
    let secs = started.elapsed().as_secs_f64();
    let (busy1, total1) = cpu_jiffies();
    let done = done.into_inner();
    let failed = failed.into_inner();
    ensure!(
        failed * 100 <= done.max(1),
        "{failed} of {} connections failed",
        done + failed
    );
    let cpu = 100.0 * (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64;
    Ok((done as f64 / secs, cpu))
}

fn samples(
    client: &Netns,
    effort: &Effort,
    mut between: impl FnMut(),
) -> anyhow::Result<(Stat, Stat)> {
    let mut cps = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..effort.samples {
        let (c, u) = sample(client, effort)?;
        cps.push(c);
        cpu.push(u);
        between();
    }
    Ok((Stat::of(&cps), Stat::of(&cpu)))
}

/// Waits until VIP:80 accepts connections from the client namespace.
fn wait_for_vip(client: &Netns) -> anyhow::Result<()> {
    let target: SocketAddr = format!("{VIP_V4}:80").parse()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if client
            .enter(|| TcpStream::connect_timeout(&target, CONNECT_TIMEOUT))
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
fn haproxy(topo: &LbTopology, effort: &Effort) -> anyhow::Result<Option<(Stat, Stat)>> {
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
        wait_for_vip(&topo.client).and_then(|()| samples(&topo.client, effort, || {}))
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

fn data_plane(topo: &LbTopology, effort: &Effort) -> anyhow::Result<(Stat, Stat)> {
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
    samples(&topo.client, effort, || {
        // Between samples: forget the closed flows, so SNAT ports are free again.
        std::thread::sleep(Duration::from_millis(1100));
        let now = lb_agent::dataplane::gc::monotonic_ns();
        if let Err(e) = dp.collect_flows(now) {
            eprintln!("[bench] flow collection failed: {e}");
        }
    })
}

/// Runs both on one topology: HAProxy first, then the data plane (attached for its run only).
pub fn run(effort: &Effort) -> anyhow::Result<Cps> {
    let topo = LbTopology::new(1);
    for ns in [&topo.client, &topo.lb] {
        ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
        ns.sysctl("net.ipv4.tcp_tw_reuse", "1");
    }
    topo.members[0].sysctl("net.core.somaxconn", "4096");
    let _server = Server::start(&topo.members[0], effort.workers)?;
    let haproxy = haproxy(&topo, effort)?;
    let lb = data_plane(&topo, effort)?;
    Ok(Cps { haproxy, lb })
}
