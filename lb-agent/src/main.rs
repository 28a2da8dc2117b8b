//! `lb-agent`: the amphora-host agent binary (CLI, logging, signals). Logic lives in the library.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lb_agent::dataplane::{AttachMode, Counters, Dataplane};
use lb_common::{drop::DropReason, stats::PacketClass};

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
    /// Attach the XDP data plane to interfaces and print its counters until Ctrl-C.
    ///
    /// The program is detached again when the agent exits. Malformed IP packets are dropped and
    /// counted by reason; everything else is passed to the kernel stack.
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
        Command::Attach {
            ifaces,
            mode,
            interval,
        } => attach(&ifaces, mode, interval).await,
    }
}

async fn attach(ifaces: &[String], mode: AttachMode, interval: u64) -> anyhow::Result<()> {
    let mut dataplane = Dataplane::load().context("loading the data plane")?;
    for iface in ifaces {
        let used = dataplane.attach(iface, mode)?;
        tracing::info!(%iface, mode = %used, "XDP attached");
    }
    let mut ticker = (interval > 0).then(|| tokio::time::interval(Duration::from_secs(interval)));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
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
            "passed"
        );
    }
    for reason in DropReason::ALL {
        let c = counters.dropped(reason);
        if c.packets > 0 {
            tracing::info!(reason = reason.as_str(), packets = c.packets, "dropped");
        }
    }
}
