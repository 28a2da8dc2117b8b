//! `lb-api`: the API server binary (CLI, logging, signals). The application lives in the library.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Octavia v2 compatible load-balancer API.
///
/// Serves the Octavia v2 REST API that `openstack loadbalancer ...` speaks.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server until Ctrl-C or SIGTERM.
    Serve {
        /// Address and port to listen on (Octavia's default port is 9876).
        #[arg(long, default_value = "127.0.0.1:9876", value_name = "ADDR:PORT")]
        bind: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { bind } => serve(bind).await,
    }
}

async fn serve(bind: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(address = %listener.local_addr()?, "lb-api listening");
    axum::serve(listener, lb_api::app())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("lb-api stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; Ctrl-C still stops the server");
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot watch Ctrl-C either; stop the process with SIGKILL");
                std::future::pending::<()>().await;
            }
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}
