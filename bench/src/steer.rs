//! How proxied listeners get their connections, both ways measured in one scratch namespace
//! (`docs/proxy.md`, "Steering"):
//!
//! - `bound`: one socket bound to each VIP:port with `IP_FREEBIND`, as the agent binds them
//!   (`lb_agent::proxy::listen::bind`); the kernel finds it in its listening hash;
//! - `sk_lookup`: one socket for every VIP:port, the `lb_steer` program attached to the
//!   namespace and an `LB_STEER` entry per VIP:port naming that socket.
//!
//! Per listener: the time to set it up (create, bind, listen / one map insert) and, for the
//! bound sockets, the kernel memory each takes (the machine's `Slab` from /proc/meminfo,
//! before and after). Per connection: connect, accept and close over loopback (the VIPs are
//! local through a `local` route), cycling over every VIP; the two variants alternate
//! sample by sample so machine drift hits both alike.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use lb_agent::dataplane::Dataplane;
use lb_testkit::Netns;
use serde::Serialize;

use crate::stats::Stat;

/// How long and how hard.
pub struct Effort {
    pub samples: usize,
    /// VIP:port listeners.
    pub listeners: u32,
    /// Connections per sample.
    pub connections: u32,
}

/// The figures of one steering.
#[derive(Debug, Serialize)]
pub struct Side {
    /// µs to set up one listener.
    pub setup_us_per_listener: Stat,
    /// µs per connection (connect, accept, close).
    pub connect_us: Stat,
}

/// What the sk_lookup program costs by itself.
#[derive(Debug, Serialize)]
pub struct ProgramCost {
    /// ns per run of `lb_steer` (the kernel's run-time statistics), over every sample.
    pub ns_per_run: f64,
    /// Runs per connection (the client's SYN; the ACK finds the established socket).
    pub runs_per_connection: f64,
}

/// Both steerings, and the memory a bound listener takes.
#[derive(Debug, Serialize)]
pub struct Steer {
    pub listeners: u32,
    pub bound: Side,
    pub sk_lookup: Side,
    /// Kernel slab memory per bound listener socket, KiB (median).
    pub bound_kib_per_listener: f64,
    pub sk_lookup_program: ProgramCost,
}

/// The VIPs: 10.64.0.0/16 is local in the namespace.
fn vip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a40_0000 + 1 + i)
}

const BOUND_PORT: u16 = 80;
const STEERED_PORT: u16 = 81;

fn slab_kib() -> anyhow::Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Slab:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no Slab line in /proc/meminfo")
}

/// Connects to `targets` in turn (`connections` in all), each time taking the connection
/// from the listener `accept_from` names; returns µs per connection.
fn connect_loop(
    targets: &[SocketAddr],
    connections: u32,
    accept_from: impl Fn(usize) -> std::io::Result<()>,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    for i in 0..connections as usize {
        let k = i % targets.len();
        let c = TcpStream::connect_timeout(&targets[k], Duration::from_secs(1))
            .with_context(|| format!("connect to {}", targets[k]))?;
        // Closed with a reset: no TIME_WAIT piles up over the samples.
        socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO))?;
        accept_from(k).with_context(|| format!("accept for {}", targets[k]))?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(connections))
}

fn accept(listener: &TcpListener) -> std::io::Result<()> {
    // The handshake is complete when connect returns: the connection is queued.
    listener.accept().map(drop)
}

/// Runs the comparison.
pub fn run(effort: &Effort) -> anyhow::Result<Steer> {
    ensure!(
        effort.listeners > 0 && effort.connections > 0,
        "nothing to measure"
    );
    let ns = Netns::new("steer");
    ns.ip(&["route", "add", "local", "10.64.0.0/16", "dev", "lo"]);
    let netns = std::fs::File::open(format!("/var/run/netns/{}", ns.name()))?;
    let mut dp = Dataplane::load().context("loading the data plane object")?;
    let n = effort.listeners;
    let bound_targets: Vec<SocketAddr> = (0..n)
        .map(|i| SocketAddr::from((vip(i), BOUND_PORT)))
        .collect();
    let steered_targets: Vec<SocketAddr> = (0..n)
        .map(|i| SocketAddr::from((vip(i), STEERED_PORT)))
        .collect();
    // Kept while measuring: the kernel times every program run.
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime)?;
    let (mut bound_setup, mut bound_connect) = (Vec::new(), Vec::new());
    let (mut steer_setup, mut steer_connect) = (Vec::new(), Vec::new());
    let mut kib = Vec::new();
    for sample in 0..effort.samples {
        // Alternate which goes first, so neither always finds the caches as the other left
        // them.
        let order = if sample % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for bound in order {
            if bound {
                let (setup, connect, per_listener) = bound_sample(&ns, &bound_targets, effort)?;
                bound_setup.push(setup);
                bound_connect.push(connect);
                kib.push(per_listener);
            } else {
                let (setup, connect) =
                    steered_sample(&ns, &netns, &mut dp, &steered_targets, effort)?;
                steer_setup.push(setup);
                steer_connect.push(connect);
            }
        }
        eprintln!(
            "[bench] steer sample {}: bound {:.1} µs/conn, sk_lookup {:.1} µs/conn",
            sample + 1,
            bound_connect[sample],
            steer_connect[sample]
        );
    }
    let (time, runs) = dp.steer_run_stats()?;
    let steered = f64::from(effort.connections) * effort.samples as f64;
    Ok(Steer {
        sk_lookup_program: ProgramCost {
            ns_per_run: time.as_nanos() as f64 / runs.max(1) as f64,
            runs_per_connection: runs as f64 / steered,
        },
        listeners: n,
        bound: Side {
            setup_us_per_listener: Stat::of(&bound_setup),
            connect_us: Stat::of(&bound_connect),
        },
        sk_lookup: Side {
            setup_us_per_listener: Stat::of(&steer_setup),
            connect_us: Stat::of(&steer_connect),
        },
        bound_kib_per_listener: Stat::of(&kib).median,
    })
}

/// A fresh socket per VIP:port: setup µs per listener, µs per connection, slab KiB per
/// listener.
fn bound_sample(
    ns: &Netns,
    targets: &[SocketAddr],
    effort: &Effort,
) -> anyhow::Result<(f64, f64, f64)> {
    let n = targets.len() as f64;
    let before = slab_kib()?;
    let t = Instant::now();
    let listeners = ns.enter(|| -> std::io::Result<Vec<TcpListener>> {
        targets
            .iter()
            .map(|&a| {
                let l = lb_agent::proxy::listen::bind(a)?;
                l.set_nonblocking(false)?;
                Ok(l)
            })
            .collect()
    })?;
    let setup = t.elapsed().as_secs_f64() * 1e6 / n;
    let kib = slab_kib()?.saturating_sub(before) as f64 / n;
    let connect =
        ns.enter(|| connect_loop(targets, effort.connections, |k| accept(&listeners[k])))?;
    Ok((setup, connect, kib))
}

/// One socket (bound to an address no client uses) and an `LB_STEER` entry per VIP:port,
/// `lb_steer` attached for the connections only: setup µs per entry, µs per connection.
fn steered_sample(
    ns: &Netns,
    netns: &std::fs::File,
    dp: &mut Dataplane,
    targets: &[SocketAddr],
    effort: &Effort,
) -> anyhow::Result<(f64, f64)> {
    let one = ns.enter(|| TcpListener::bind("127.0.0.1:9"))?;
    dp.set_steer_socket(0, &one)?;
    let t = Instant::now();
    for &a in targets {
        dp.steer(a, 0)?;
    }
    let setup = t.elapsed().as_secs_f64() * 1e6 / targets.len() as f64;
    let link = dp.attach_steer(netns)?;
    let measured = ns.enter(|| connect_loop(targets, effort.connections, |_| accept(&one)));
    dp.detach_steer(link)?;
    Ok((setup, measured?))
}
