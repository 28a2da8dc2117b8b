//! Runs the agent as the controller drives it: loads and attaches the data plane (adopting its
//! pins), re-applies the last saved state, then serves the mutual-TLS API, sends heartbeats and
//! collects idle flows until asked to stop.

use std::{future::Future, sync::Arc, time::Duration};

use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::Mutex;

use super::{Runtime, api, heartbeat, runtime::ApplyError};
use crate::{
    DataplaneError,
    config::{AgentConfig, ConfigError, read_key},
    dataplane::{Dataplane, gc},
};

/// Why the agent could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("TLS material: {0}")]
    Tls(#[from] lb_proto::tls::TlsError),
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
    #[error("the saved state could not be re-applied: {0}")]
    Restore(#[from] ApplyError),
    #[error("agent API on {addr}: {source}")]
    Api {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Runs until `shutdown` completes.
pub async fn serve(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // Everything that can be checked is checked before an interface is touched.
    let tls =
        lb_proto::tls::server_config(&config.api.cert, &config.api.key, &config.api.client_ca)?;
    let key = read_key(&config.heartbeat.key_file)?;
    let mut dataplane = match config.pins() {
        Some(dir) => {
            let (dp, adoption) = Dataplane::load_pinned(dir)?;
            tracing::info!(
                dir = %dir.display(),
                adopted = adoption.adopted.len(),
                replaced = ?adoption.replaced,
                "pinned maps"
            );
            dp
        }
        None => Dataplane::load()?,
    };
    for iface in &config.interfaces {
        let used = dataplane.attach(iface, config.xdp_mode)?;
        tracing::info!(%iface, mode = %used, "data plane attached");
    }
    let mut runtime = Runtime::new(dataplane, &config.state_dir);
    if let Some(iface) = &config.vip_interface {
        runtime.manage_vips(iface);
    }
    let (targets_tx, targets_rx) = tokio::sync::watch::channel(Vec::new());
    let (health_tx, mut health_rx) = tokio::sync::mpsc::unbounded_channel();
    runtime.watch_health(targets_tx);
    let checks = tokio::spawn(crate::health::scheduler::run(targets_rx, health_tx));
    match runtime.restore() {
        Ok(Some(applied)) => tracing::info!(
            generation = applied.generation,
            "saved desired state re-applied"
        ),
        Ok(None) => tracing::info!("no saved desired state; waiting for the controller"),
        // A state that no longer validates must not keep the agent down: the controller
        // pushes a fresh one.
        Err(error) => tracing::warn!(%error, "saved desired state not re-applied"),
    }
    let runtime = Arc::new(Mutex::new(runtime));

    let handle = axum_server::Handle::new();
    let app = api::router(api::ApiState {
        runtime: runtime.clone(),
        host_id: config.host_id.as_str().into(),
    });
    let addr = config.api.bind;
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Api { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Api { addr, source })?;
    tracing::info!(%addr, "agent API listening (mutual TLS)");
    let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(tls)))
        .handle(handle.clone())
        .serve(app.into_make_service());
    let mut server = tokio::spawn(server);

    let beats = tokio::spawn(heartbeat::run(
        runtime.clone(),
        config.host_id.clone(),
        key,
        config.heartbeat.controllers.clone(),
        config.heartbeat_interval(),
    ));

    let mut gc_ticker = tokio::time::interval(Duration::from_secs(config.gc_interval_s.max(1)));
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            r = &mut server => break match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(source)) => Err(ServeError::Api { addr, source }),
                Err(join) => Err(ServeError::Api { addr, source: std::io::Error::other(join) }),
            },
            Some(t) = health_rx.recv() => {
                let mut rt = runtime.lock().await;
                match rt.set_health(&t) {
                    Ok(true) => tracing::info!(member = %t.member_id, health = ?t.health, "member selection updated"),
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, member = %t.member_id, "applying a health change failed"),
                }
            }
            _ = gc_ticker.tick() => {
                let mut rt = runtime.lock().await;
                if let Err(error) = rt.dataplane.collect_flows(gc::monotonic_ns()) {
                    tracing::warn!(%error, "flow-table collection failed");
                }
            }
        }
    };
    beats.abort();
    checks.abort();
    handle.graceful_shutdown(Some(Duration::from_secs(2)));
    if config.pins().is_some() {
        tracing::info!("agent stopping; the pinned data plane keeps balancing");
    } else {
        tracing::info!("agent stopping; the data plane goes with it (no pins)");
    }
    result
}
