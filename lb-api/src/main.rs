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
        /// Database URL: `sqlite://PATH` (file created, schema migrated on first start),
        /// `sqlite::memory:`, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the database
        /// must exist; tables are created on first start). Default: `sqlite://$XDG_DATA_HOME/lb-api/lb-api.db` when
        /// XDG_DATA_HOME is set, else `sqlite://./lb-api.db` in the current directory.
        #[arg(long, env = "LB_API_DB", value_name = "URL")]
        db: Option<String>,
        /// noauth: project assumed for requests without an X-Project-Id header (Octavia has none,
        /// so such creates fail with 400 unless the body names project_id).
        #[arg(long, value_name = "PROJECT_ID")]
        noauth_project: Option<String>,
        /// How long the noop provider waits before completing a change (milliseconds).
        #[arg(long, default_value_t = 100, value_name = "MS")]
        noop_delay_ms: u64,
        /// Quota of projects that have none set, e.g. `--default-quota loadbalancer=10`
        /// (repeatable; resources: loadbalancer, listener, member, pool, healthmonitor,
        /// l7policy, l7rule; default -1 = unlimited, as Octavia's `[quotas] default_*_quota`).
        #[arg(long, value_name = "RESOURCE=N")]
        default_quota: Vec<String>,
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
        Command::Serve {
            bind,
            db,
            noauth_project,
            noop_delay_ms,
            default_quota,
        } => {
            let mut quota_defaults = lb_api::model::quota::Limits::default();
            for spec in &default_quota {
                quota_defaults
                    .assign(spec)
                    .map_err(|e| anyhow::anyhow!("--default-quota {e}"))?;
            }
            let config = lb_api::config::Config {
                noauth_default_project: noauth_project,
                noop_delay: std::time::Duration::from_millis(noop_delay_ms),
                quota_defaults,
                ..lb_api::config::Config::default()
            };
            serve(bind, db, config).await
        }
    }
}

/// The default database URL (see `serve --help`), creating its directory.
fn default_db() -> anyhow::Result<String> {
    let dir = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(data) => std::path::PathBuf::from(data).join("lb-api"),
        None => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite://{}", dir.join("lb-api.db").display()))
}

async fn serve(
    bind: SocketAddr,
    db: Option<String>,
    config: lb_api::config::Config,
) -> anyhow::Result<()> {
    let db = match db {
        Some(url) => url,
        None => default_db()?,
    };
    let state = lb_api::AppState::open(&db, config)
        .await
        .with_context(|| format!("opening database {}", lb_api::store::redact(&db)))?;
    tracing::info!(db = %lb_api::store::redact(&db), "database ready");
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(address = %listener.local_addr()?, "lb-api listening");
    axum::serve(listener, lb_api::app(state))
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
