//! `lb-api`: the API server binary (CLI, logging, signals). The application lives in the library.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

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
        /// Run the controller: the certificate directory made by `lb-api certs init`. With it
        /// the default provider (amphora) places load balancers on registered hosts and pushes
        /// them to their agents over mutual TLS; without it every provider is served by the
        /// noop driver (API only, nothing reaches a data plane).
        #[arg(long, env = "LB_API_CERTS", value_name = "DIR")]
        certs: Option<PathBuf>,
        /// UDP address the controller receives agents' heartbeats on.
        #[arg(
            long,
            default_value = "127.0.0.1:5555",
            value_name = "ADDR:PORT",
            requires = "certs"
        )]
        heartbeat_bind: SocketAddr,
        /// Seconds without a heartbeat after which a host's load balancers get operating
        /// status ERROR.
        #[arg(long, default_value_t = 10, value_name = "SECONDS", requires = "certs")]
        heartbeat_timeout: u64,
        /// Seconds a change is retried against an unreachable agent before it ends in ERROR.
        #[arg(long, default_value_t = 20, value_name = "SECONDS", requires = "certs")]
        retry_deadline: u64,
        /// Quota of projects that have none set, e.g. `--default-quota loadbalancer=10`
        /// (repeatable; resources: loadbalancer, listener, member, pool, healthmonitor,
        /// l7policy, l7rule; default -1 = unlimited, as Octavia's `[quotas] default_*_quota`).
        #[arg(long, value_name = "RESOURCE=N")]
        default_quota: Vec<String>,
        /// How callers are authenticated. `noauth`: project from the X-Project-Id header, admin
        /// with `X-Roles: admin` or without a project (Octavia's noauth). `keystone`: every
        /// request except `/` needs an X-Auth-Token that Keystone (--keystone-url) validates
        /// (401 otherwise); the token's project scopes the caller and its roles map to
        /// Octavia's default policy: admin/load-balancer_admin = everything,
        /// load-balancer_global_observer = read all projects, member/load-balancer_member =
        /// read and write its project, reader/load-balancer_observer = read its project.
        #[arg(long, value_enum, default_value_t = AuthArg::Noauth)]
        auth: AuthArg,
        /// Keystone v3 URL for `--auth keystone`, e.g. `http://127.0.0.1:5000/v3`.
        #[arg(
            long,
            env = "LB_API_KEYSTONE_URL",
            value_name = "URL",
            required_if_eq("auth", "keystone")
        )]
        keystone_url: Option<String>,
        /// Service user that validates tokens (as keystonemiddleware's `username`, domain
        /// Default). Without it, each token validates itself.
        #[arg(long, value_name = "NAME", requires_all = ["keystone_password", "keystone_project"])]
        keystone_user: Option<String>,
        /// The service user's password.
        #[arg(
            long,
            env = "LB_API_KEYSTONE_PASSWORD",
            value_name = "PASSWORD",
            hide_env_values = true
        )]
        keystone_password: Option<String>,
        /// Project (domain Default) the service user's token is scoped to, e.g. `service`.
        #[arg(long, value_name = "NAME")]
        keystone_project: Option<String>,
    },
    /// Make the certificates of controller↔agent mutual TLS.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Register, list and remove amphora hosts (works on the database directly).
    #[command(subcommand)]
    Host(HostCommand),
}

/// `serve --auth` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum AuthArg {
    Noauth,
    Keystone,
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Create a server CA, a client CA, the controller's client certificate and the heartbeat
    /// key in DIR (refuses to overwrite an existing CA).
    Init {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Write an agent's bundle into OUT: agent.pem/agent-key.pem (server certificate for its
    /// management addresses, signed by the server CA), client-ca.pem and heartbeat.key.
    IssueAgent {
        /// The controller's certificate directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The host's name (certificate CN and DNS SAN).
        #[arg(long)]
        name: String,
        /// Management address the controller dials (repeat for several).
        #[arg(long = "address", required = true, value_name = "IP")]
        addresses: Vec<std::net::IpAddr>,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum HostCommand {
    /// Register an amphora host running `lb-agent serve`.
    Add {
        /// Database URL (as `serve --db`).
        #[arg(long, env = "LB_API_DB", value_name = "URL")]
        db: Option<String>,
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Management address of its agent API (an IP SAN of its certificate).
        #[arg(long, value_name = "IP")]
        address: String,
        /// Agent API port.
        #[arg(long, default_value_t = lb_proto::AGENT_PORT)]
        port: u16,
        /// The host's VIP-side interface (as its agent.toml names it).
        #[arg(long, value_name = "NAME")]
        vip_interface: Option<String>,
        /// The host's member-side interface.
        #[arg(long, value_name = "NAME")]
        member_interface: Option<String>,
        /// Subnet (id or name) whose VIPs it serves (repeat for several).
        #[arg(long = "subnet", value_name = "SUBNET")]
        subnets: Vec<String>,
        /// Member-side IPv4 source address for full NAT.
        #[arg(long, value_name = "IP")]
        snat_ipv4: Option<String>,
        /// Member-side IPv6 source address for full NAT.
        #[arg(long, value_name = "IP")]
        snat_ipv6: Option<String>,
    },
    /// List registered hosts (JSON lines).
    List {
        #[arg(long, env = "LB_API_DB", value_name = "URL")]
        db: Option<String>,
    },
    /// Remove a host that serves no load balancer.
    Remove {
        #[arg(long, env = "LB_API_DB", value_name = "URL")]
        db: Option<String>,
        /// Host id or name.
        host: String,
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
            certs,
            heartbeat_bind,
            heartbeat_timeout,
            retry_deadline,
            default_quota,
            auth,
            keystone_url,
            keystone_user,
            keystone_password,
            keystone_project,
        } => {
            let auth = match (auth, keystone_url) {
                (AuthArg::Noauth, _) => lb_api::auth::AuthMode::Noauth,
                (AuthArg::Keystone, None) => anyhow::bail!("--auth keystone needs --keystone-url"),
                (AuthArg::Keystone, Some(url)) => {
                    let service = match (keystone_user, keystone_password, keystone_project) {
                        (Some(user), Some(password), Some(project)) => {
                            Some(lb_api::keystone::ServiceCredentials {
                                user,
                                password,
                                project,
                            })
                        }
                        _ => None,
                    };
                    lb_api::auth::AuthMode::Keystone(std::sync::Arc::new(
                        lb_api::keystone::Keystone::new(&url, service)?,
                    ))
                }
            };
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
                auth,
                ..lb_api::config::Config::default()
            };
            let controller = certs.map(|dir| {
                let mut c = lb_api::controller::ControllerConfig::new(&dir);
                c.heartbeat_bind = heartbeat_bind;
                c.heartbeat_timeout = Duration::from_secs(heartbeat_timeout);
                c.retry_deadline = Duration::from_secs(retry_deadline);
                c
            });
            serve(bind, db, config, controller).await
        }
        Command::Certs(CertsCommand::Init { dir }) => {
            lb_api::certs::init(&dir)?;
            println!("certificates written to {}", dir.display());
            Ok(())
        }
        Command::Certs(CertsCommand::IssueAgent {
            dir,
            name,
            addresses,
            out,
        }) => {
            lb_api::certs::issue_agent(&dir, &name, &addresses, &out)?;
            println!("agent bundle for {name} written to {}", out.display());
            Ok(())
        }
        Command::Host(command) => host(command).await,
    }
}

async fn store_at(db: Option<String>) -> anyhow::Result<std::sync::Arc<dyn lb_api::store::Store>> {
    let db = match db {
        Some(url) => url,
        None => default_db()?,
    };
    lb_api::open_store(&db)
        .await
        .with_context(|| format!("opening database {db}"))
}

async fn host(command: HostCommand) -> anyhow::Result<()> {
    use lb_api::controller::registry;
    match command {
        HostCommand::Add {
            db,
            name,
            address,
            port,
            vip_interface,
            member_interface,
            subnets,
            snat_ipv4,
            snat_ipv6,
        } => {
            let store = store_at(db).await?;
            let host = registry::register(
                &*store,
                registry::HostInput {
                    name,
                    address,
                    port,
                    vip_interface,
                    member_interface,
                    subnets,
                    snat_ipv4,
                    snat_ipv6,
                    admin_state_up: true,
                },
            )
            .await?;
            println!("{}", registry::wire(&host, 0));
        }
        HostCommand::List { db } => {
            let store = store_at(db).await?;
            let hosts: Vec<lb_api::controller::host::Host> =
                lb_api::store::list(&*store, &lb_api::store::Select::all()).await?;
            for h in hosts {
                println!("{}", registry::wire(&h, 0));
            }
        }
        HostCommand::Remove { db, host } => {
            let store = store_at(db).await?;
            registry::remove(&*store, &host).await?;
            println!("host {host} removed");
        }
    }
    Ok(())
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
    controller: Option<lb_api::controller::ControllerConfig>,
) -> anyhow::Result<()> {
    let db = match db {
        Some(url) => url,
        None => default_db()?,
    };
    let shown = lb_api::store::redact(&db);
    let state = match controller {
        Some(c) => lb_api::AppState::open_controlled(&db, config, c)
            .await
            .with_context(|| format!("starting the controller on {shown}"))?,
        None => lb_api::AppState::open(&db, config)
            .await
            .with_context(|| format!("opening database {shown}"))?,
    };
    tracing::info!(db = %shown, "database ready");
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
