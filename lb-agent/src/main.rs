//! `lb-agent`: the amphora-host agent binary (CLI, logging, signals). Logic lives in the library.

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lb_agent::dataplane::{AttachMode, Counters, Dataplane, pins};
use lb_common::{drop::DropReason, stats::PacketClass};
use lb_proto::DesiredState;
use tokio::signal::unix::{SignalKind, signal};

/// Load-balancer agent for amphora hosts: runs the eBPF/XDP data plane.
///
/// Needs root (or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON) and Linux >= 6.1.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Balance the load balancers of a desired-state file.
    ///
    /// Attaches the data plane to the given interfaces (the VIP side and the member side;
    /// enables forwarding on them), validates the file completely and programs the maps. On
    /// SIGHUP the file is read again and only the difference is applied; an invalid file is
    /// refused as a whole and the running state kept. The format is documented in
    /// docs/agent-state.md.
    ///
    /// Maps and program links are pinned under --pin-dir: the data plane keeps balancing when
    /// the agent stops or is killed, and the next `run` adopts its flows (pins whose layout
    /// changed are replaced). Ctrl-C/SIGTERM stop the agent only, unless --detach-on-exit;
    /// `lb-agent cleanup` takes the data plane down.
    Run {
        /// Desired-state file (JSON, lb-proto format).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// Interface carrying VIP or member traffic (repeat for several).
        #[arg(long = "iface", short = 'i', required = true, value_name = "NAME")]
        ifaces: Vec<String>,
        /// XDP attach mode.
        #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
        mode: AttachMode,
        /// Seconds between two counter reports (0: only at exit).
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        interval: u64,
        /// bpffs directory for the pinned maps and links.
        #[arg(long, default_value = pins::DEFAULT_PIN_DIR, value_name = "DIR")]
        pin_dir: PathBuf,
        /// Pin nothing: the data plane lives only as long as this process.
        #[arg(long, conflicts_with = "detach_on_exit")]
        no_pin: bool,
        /// On Ctrl-C/SIGTERM, detach the programs and remove the pins.
        #[arg(long)]
        detach_on_exit: bool,
        /// Seconds between two flow-table garbage collections (idle flows removed, active
        /// gauges recounted).
        #[arg(long, default_value_t = 5, value_name = "SECONDS")]
        gc_interval: u64,
    },
    /// Run as the controller drives it (the production mode).
    ///
    /// Reads the configuration file (format: docs/agent-serve.md), attaches the data plane to
    /// its interfaces (adopting pinned maps), re-applies the last state the controller pushed,
    /// then serves the agent API over HTTPS with mutual TLS (only clients signed by the
    /// configured client CA), sends signed UDP heartbeats to the controllers and collects idle
    /// flows. Ctrl-C/SIGTERM stop the agent; the pinned data plane keeps balancing.
    Serve {
        /// Configuration file (TOML).
        #[arg(
            long,
            short = 'c',
            default_value = "/etc/lb-agent/agent.toml",
            value_name = "FILE"
        )]
        config: PathBuf,
    },
    /// Take down a pinned data plane: detach its programs and remove its maps.
    Cleanup {
        /// bpffs directory the data plane was pinned under.
        #[arg(long, default_value = pins::DEFAULT_PIN_DIR, value_name = "DIR")]
        pin_dir: PathBuf,
    },
    /// Attach the XDP data plane to interfaces and print its counters until Ctrl-C.
    ///
    /// No load balancer is configured: malformed IP packets are dropped and counted by reason,
    /// everything else is passed to the kernel stack. The program is detached on exit.
    Attach {
        /// Interface to attach to (repeat for several).
        #[arg(long = "iface", short = 'i', required = true, value_name = "NAME")]
        ifaces: Vec<String>,
        /// XDP attach mode.
        #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
        mode: AttachMode,
        /// Seconds between two counter reports (0: report only at exit).
        #[arg(long, default_value_t = 5, value_name = "SECONDS")]
        interval: u64,
    },
}

// The L7 proxy runs on worker threads of its own (`proxy::workers`).
/// mimalloc: the proxy allocates and frees small buffers (request heads, header maps) on every
/// request from one thread per CPU; glibc's malloc cost about 5 % of the proxy's CPU there
/// (perf, `docs/benchmarks.md`), mimalloc's thread-local free lists less.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // aya warns with a full BTF dump when the kernel refuses the object's BTF
                // (rustc's BTF has kinds the kernel does not take); it loads fine without it.
                .unwrap_or_else(|_| "info,aya::bpf=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run {
            state,
            ifaces,
            mode,
            interval,
            pin_dir,
            no_pin,
            detach_on_exit,
            gc_interval,
        } => {
            let pins = (!no_pin).then_some(pin_dir);
            let timers = Timers {
                report: interval,
                gc: gc_interval,
            };
            run(
                &state,
                &ifaces,
                mode,
                timers,
                pins.as_deref(),
                detach_on_exit,
            )
            .await
        }
        Command::Serve { config } => {
            let config = lb_agent::config::AgentConfig::load(&config)?;
            lb_agent::agent::serve::serve(config, stop_signal()).await?;
            Ok(())
        }
        Command::Cleanup { pin_dir } => {
            pins::remove(&pin_dir)?;
            tracing::info!(dir = %pin_dir.display(), "data plane detached and its pins removed");
            Ok(())
        }
        Command::Attach {
            ifaces,
            mode,
            interval,
        } => {
            let dataplane = attached(&ifaces, mode)?;
            let timers = Timers {
                report: interval,
                gc: 0,
            };
            serve(dataplane, &mut lb_agent::proxy::Proxy::new(), timers, None).await
        }
    }
}

fn attached(ifaces: &[String], mode: AttachMode) -> anyhow::Result<Dataplane> {
    attach_all(
        Dataplane::load().context("loading the data plane")?,
        ifaces,
        mode,
    )
}

fn attach_all(
    mut dataplane: Dataplane,
    ifaces: &[String],
    mode: AttachMode,
) -> anyhow::Result<Dataplane> {
    for iface in ifaces {
        let used = dataplane.attach(iface, mode)?;
        tracing::info!(%iface, mode = %used, "data plane attached");
    }
    Ok(dataplane)
}

fn read_state(path: &PathBuf) -> anyhow::Result<DesiredState> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    DesiredState::from_json(&bytes).with_context(|| format!("{} refused", path.display()))
}

async fn run(
    path: &PathBuf,
    ifaces: &[String],
    mode: AttachMode,
    timers: Timers,
    pin_dir: Option<&std::path::Path>,
    detach_on_exit: bool,
) -> anyhow::Result<()> {
    // Validate before touching any interface.
    let state = read_state(path)?;
    let dataplane = match pin_dir {
        Some(dir) => {
            let (dataplane, adoption) =
                Dataplane::load_pinned(dir).context("loading the data plane")?;
            tracing::info!(
                dir = %dir.display(),
                adopted = adoption.adopted.len(),
                replaced = ?adoption.replaced,
                created = adoption.created.len(),
                "pinned maps"
            );
            dataplane
        }
        None => Dataplane::load().context("loading the data plane")?,
    };
    let mut dataplane = attach_all(dataplane, ifaces, mode)?;
    let mut proxy = lb_agent::proxy::Proxy::new();
    proxy.apply(&state)?;
    let report = dataplane.apply(&state)?;
    tracing::info!(?report, "desired state applied");
    serve(dataplane, &mut proxy, timers, Some((path, state))).await?;
    proxy.shutdown();
    match pin_dir {
        Some(dir) if detach_on_exit => {
            pins::remove(dir)?;
            tracing::info!("data plane detached");
        }
        Some(dir) => tracing::info!(
            dir = %dir.display(),
            "the data plane keeps balancing; `lb-agent cleanup` takes it down"
        ),
        None => {}
    }
    Ok(())
}

/// Periods of the agent's timers, in seconds (0: never).
#[derive(Clone, Copy)]
struct Timers {
    report: u64,
    gc: u64,
}

fn ticker(seconds: u64) -> Option<tokio::time::Interval> {
    (seconds > 0).then(|| tokio::time::interval(Duration::from_secs(seconds)))
}

async fn tick(t: &mut Option<tokio::time::Interval>) {
    match t.as_mut() {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Reports counters and collects idle flows periodically, reloads `state` (its file and the
/// state applied from it) on SIGHUP, exits on SIGINT/SIGTERM. Each report also mirrors the
/// kernel listeners' figures into the proxy, for PROMETHEUS listeners.
async fn serve(
    mut dataplane: Dataplane,
    proxy: &mut lb_agent::proxy::Proxy,
    timers: Timers,
    state: Option<(&PathBuf, DesiredState)>,
) -> anyhow::Result<()> {
    let (path, mut current) = state.unzip();
    let mut hup = signal(SignalKind::hangup()).context("watching SIGHUP")?;
    let mut term = signal(SignalKind::terminate()).context("watching SIGTERM")?;
    let mut report_ticker = ticker(timers.report);
    let mut gc_ticker = ticker(timers.gc);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => match path {
                Some(path) => match read_state(path) {
                    Ok(s) => match proxy.apply(&s).map_err(anyhow::Error::from).and_then(|()| Ok(dataplane.apply(&s)?)) {
                        Ok(report) => {
                            tracing::info!(?report, "desired state re-applied");
                            current = Some(s);
                        }
                        Err(error) => tracing::error!(%error, "applying the new state failed"),
                    },
                    Err(error) => tracing::error!(error = format!("{error:#}"), "new state refused; keeping the running one"),
                },
                None => tracing::info!("SIGHUP ignored: no state file"),
            },
            _ = tick(&mut report_ticker) => {
                report(&dataplane.counters()?);
                if let Some(s) = &current {
                    // Built for its side effect: the kernel's listener figures reach the proxy.
                    let _ = lb_agent::agent::report::build(
                        "run", 0, Some(s), &std::collections::HashSet::new(), &dataplane, proxy,
                    )?;
                }
            }
            _ = tick(&mut gc_ticker) => match dataplane.collect_flows(lb_agent::dataplane::gc::monotonic_ns()) {
                Ok(gc) => tracing::debug!(?gc, "flow table collected"),
                Err(error) => tracing::warn!(%error, "flow-table collection failed"),
            },
        }
    }
    report(&dataplane.counters()?);
    tracing::info!("agent stopping");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        },
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; Ctrl-C still stops the agent");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn report(counters: &Counters) {
    for class in PacketClass::ALL {
        let c = counters.class(class);
        tracing::info!(
            class = class.as_str(),
            packets = c.packets,
            bytes = c.bytes,
            "packets"
        );
    }
    for reason in DropReason::ALL {
        let c = counters.dropped(reason);
        if c.packets > 0 {
            tracing::info!(reason = reason.as_str(), packets = c.packets, "dropped");
        }
    }
}
