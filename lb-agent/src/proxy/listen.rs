//! A proxied listener's sockets and connections. The sockets are bound to `VIP:port` with
//! `IP_FREEBIND` (so they can be bound before the VIP is on the interface) and
//! `SO_REUSEPORT`, one per worker (`workers`): the kernel passes the listener's packets up
//! (they have no entry in the XDP VIP table) and spreads its connections over them. Its configuration is swapped atomically on every push
//! ([`ListenerRt::cfg`]); connections read the current one for each request, so a change never
//! closes a connection. A removed listener stops accepting and lets its connections finish the
//! request in flight (hyper's graceful shutdown), then closes them.
//!
//! `connection_limit`: at the limit, the listener stops accepting; new connections wait in the
//! kernel's accept queue (HAProxy's frontend `maxconn`) until one closes. `allowed_cidrs`:
//! connections from other sources are closed at once, before a byte is read.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use lb_proto::ListenerProtocol;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, watch},
};

use super::{
    client_cert::{ClientCert, TlsSession},
    config::ListenerCfg,
    counters::ListenerCounters,
    http::{self, Peer},
    io::Counted,
    prometheus, stream,
    upstream::Upstreams,
};

/// Largest request head (request line + headers) the proxy reads, bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers a request may carry.
pub const MAX_HEADERS: usize = 100;
/// Most concurrent HTTP/2 streams per client connection.
pub const MAX_H2_STREAMS: u32 = 256;
/// Accept-queue length of a listener socket.
pub const BACKLOG: i32 = 4096;

/// A bound listener and what its connections share.
pub struct ListenerRt {
    pub cfg: ArcSwap<ListenerCfg>,
    closing: watch::Sender<bool>,
    /// Wakes the accept loop when a connection ends (connection limit).
    slot_freed: Notify,
}

/// Binds `addr` for a proxied listener.
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
        s.set_freebind_ipv6(true)?;
    } else {
        s.set_freebind(true)?;
    }
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    Ok(s.into())
}

impl ListenerRt {
    /// Starts serving `cfg` on the bound `sockets`, socket `i` on worker `i`.
    #[must_use]
    pub fn start(
        cfg: ListenerCfg,
        sockets: Vec<std::net::TcpListener>,
        workers: &super::workers::Workers,
    ) -> Arc<Self> {
        let rt = Arc::new(Self {
            cfg: ArcSwap::from_pointee(cfg),
            closing: watch::channel(false).0,
            slot_freed: Notify::new(),
        });
        for (i, socket) in sockets.into_iter().enumerate() {
            let rt = rt.clone();
            workers.handle(i).spawn(async move {
                // Registered with the worker's own reactor.
                match TcpListener::from_std(socket) {
                    Ok(listener) => accept_loop(rt, listener).await,
                    Err(error) => tracing::error!(%error, "proxy listener socket unusable"),
                }
            });
        }
        rt
    }

    /// Takes a new configuration for the same address; connections keep running.
    pub fn update(&self, cfg: ListenerCfg) {
        self.cfg.store(Arc::new(cfg));
        // A raised connection limit lets the accept loops go on.
        self.slot_freed.notify_waiters();
    }

    /// Stops accepting; open connections finish their request in flight and close.
    pub fn stop(&self) {
        self.closing.send_replace(true);
    }
}

/// Counts a client connection as active while it lives.
struct Active {
    counters: Arc<ListenerCounters>,
    rt: Arc<ListenerRt>,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.counters.closed();
        self.rt.slot_freed.notify_waiters();
    }
}

async fn accept_loop(rt: Arc<ListenerRt>, listener: TcpListener) {
    let mut closing = rt.closing.subscribe();
    loop {
        // At the connection limit, accept nothing until a connection ends.
        loop {
            // Registered before the check, so a release right after it is not missed.
            let freed = rt.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let cfg = rt.cfg.load();
            let full = cfg
                .connection_limit
                .is_some_and(|limit| cfg.counters.active() >= u64::from(limit));
            if !full {
                break;
            }
            tokio::select! {
                () = freed => {}
                _ = closing.changed() => return,
            }
        }
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = closing.changed() => return,
        };
        let (stream, client) = match accepted {
            Ok(a) => a,
            Err(error) => {
                // Out of descriptors or memory: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let cfg = rt.cfg.load_full();
        if !cfg.admits(client.ip()) {
            cfg.counters.denied();
            drop(stream);
            continue;
        }
        let local = stream.local_addr().unwrap_or(cfg.bind);
        cfg.counters.opened();
        let active = Active {
            counters: cfg.counters.clone(),
            rt: rt.clone(),
        };
        let peer = Peer { client, local };
        let conn_rt = rt.clone();
        tokio::spawn(async move {
            let _active = active;
            match cfg.protocol {
                ListenerProtocol::Http => {
                    let io = Counted::new(stream, cfg.counters.clone());
                    serve_http(conn_rt, io, peer, None).await;
                }
                ListenerProtocol::TerminatedHttps => serve_https(conn_rt, &cfg, stream, peer).await,
                ListenerProtocol::Prometheus => prometheus::serve(conn_rt, stream).await,
                ListenerProtocol::Tcp | ListenerProtocol::Udp => {
                    stream::serve(conn_rt, stream, peer).await;
                }
            }
        });
    }
}

/// A TERMINATED_HTTPS client connection: the TLS handshake (within `timeout_client_data`),
/// then HTTP over it (HTTP/2 when the client chose `h2` by ALPN or sends its preface).
async fn serve_https(rt: Arc<ListenerRt>, cfg: &ListenerCfg, stream: TcpStream, peer: Peer) {
    let Some(tls) = cfg.tls.clone() else {
        return;
    };
    let io = Counted::new(stream, cfg.counters.clone());
    let accept = tokio_rustls::TlsAcceptor::from(tls).accept(io);
    match tokio::time::timeout(cfg.timeouts.client_data, accept).await {
        Ok(Ok(tls)) => {
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| ClientCert::of(leaf.as_ref()));
            let session = Arc::new(TlsSession::new(client_cert));
            serve_http(rt, tls, peer, Some(session)).await;
        }
        Ok(Err(error)) => {
            cfg.counters.error();
            tracing::debug!(client = %peer.client, %error, "TLS handshake failed");
        }
        Err(_) => {
            cfg.counters.error();
            tracing::debug!(client = %peer.client, "TLS handshake timed out");
        }
    }
}

/// The HTTP server side of one client connection (HTTP/1.1, or HTTP/2 with prior knowledge
/// or by ALPN), over the plain socket or TLS.
async fn serve_http<S>(rt: Arc<ListenerRt>, stream: S, peer: Peer, tls: Option<Arc<TlsSession>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let cfg = rt.cfg.load_full();
    let counters = cfg.counters.clone();
    let io = TokioIo::new(stream);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // A request head must arrive within the client timeout (also between requests of a
        // keep-alive connection): slow or idle clients are closed.
        .header_read_timeout(cfg.timeouts.client_data)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEAD_BYTES).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(cfg.timeouts.client_data / 2))
        .keep_alive_timeout(cfg.timeouts.client_data);
    let upstreams = Upstreams::new(peer.client, peer.local);
    let svc_rt = rt.clone();
    let svc = service_fn(move |req| {
        http::handle(
            svc_rt.cfg.load_full(),
            upstreams.clone(),
            peer,
            tls.clone(),
            req,
        )
    });
    // With upgrades: a 101 from a member turns the connection into a tunnel (`tunnel`).
    let conn = builder.serve_connection_with_upgrades(io, svc);
    tokio::pin!(conn);
    let mut closing = rt.closing.subscribe();
    let result = if *closing.borrow() {
        conn.as_mut().graceful_shutdown();
        conn.await
    } else {
        tokio::select! {
            r = conn.as_mut() => r,
            _ = closing.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    };
    if let Err(error) = result {
        // Malformed requests (answered 400/431 by hyper), resets, timeouts.
        counters.error();
        tracing::debug!(client = %peer.client, %error, "client connection ended with an error");
    }
}
