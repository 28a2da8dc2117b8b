//! `lb-agent`: the amphora-host agent binary (CLI, logging, signals). Logic lives in the library.

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lb_agent::dataplane::{AttachMode, Counters, Dataplane};
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
    /// Balance the load balancers of a desired-state file until Ctrl-C or SIGTERM.
    ///
    /// Attaches the data plane to the given interfaces (the VIP side and the member side;
    /// enables forwarding on them), validates the file completely and programs the maps. On
    /// SIGHUP the file is read again and only the difference is applied; an invalid file is
    /// refused as a whole and the running state kept. The format is documented in
    /// docs/agent-state.md. On exit the programs are detached.
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run {
            state,
            ifaces,
            mode,
            interval,
        } => run(&state, &ifaces, mode, interval).await,
        Command::Attach {
            ifaces,
            mode,
            interval,
        } => {
            let dataplane = attached(&ifaces, mode)?;
            serve(dataplane, interval, None).await
        }
    }
}

fn attached(ifaces: &[String], mode: AttachMode) -> anyhow::Result<Dataplane> {
    let mut dataplane = Dataplane::load().context("loading the data plane")?;
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
    interval: u64,
) -> anyhow::Result<()> {
    // Validate before touching any interface.
    let state = read_state(path)?;
    let mut dataplane = attached(ifaces, mode)?;
    let report = dataplane.apply(&state)?;
    tracing::info!(?report, "desired state applied");
    serve(dataplane, interval, Some(path)).await
}

/// Reports counters every `interval` seconds, reloads `state` on SIGHUP, exits on
/// SIGINT/SIGTERM (dropping the data plane detaches it).
async fn serve(
    mut dataplane: Dataplane,
    interval: u64,
    state: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let mut hup = signal(SignalKind::hangup()).context("watching SIGHUP")?;
    let mut term = signal(SignalKind::terminate()).context("watching SIGTERM")?;
    let mut ticker = (interval > 0).then(|| tokio::time::interval(Duration::from_secs(interval)));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => match state {
                Some(path) => match read_state(path) {
                    Ok(s) => match dataplane.apply(&s) {
                        Ok(report) => tracing::info!(?report, "desired state re-applied"),
                        Err(error) => tracing::error!(%error, "applying the new state failed"),
                    },
                    Err(error) => tracing::error!(error = format!("{error:#}"), "new state refused; keeping the running one"),
                },
                None => tracing::info!("SIGHUP ignored: no state file"),
            },
            _ = async {
                match ticker.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => report(&dataplane.counters()?),
        }
    }
    report(&dataplane.counters()?);
    tracing::info!("detaching and exiting");
    Ok(())
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
