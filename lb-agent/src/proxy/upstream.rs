//! Keep-alive HTTP/1.1 connections to members, made with hyper's connection API (no pooled
//! client with its own dispatch task and locks in between).
//!
//! A request takes an idle connection to its member (most recently used first) or opens one
//! within `timeout_member_connect`; the connection comes back as idle when the response body
//! has ended ([`Lease`]). Idle connections of plain pools live in a table of the worker thread
//! ([`crate::proxy::workers`]: a connection never leaves the worker that opened it, so the
//! table needs no lock) shared by every listener and client of that worker, at most
//! [`IDLE_PER_MEMBER`] per member, each dropped after [`IDLE_TIMEOUT`] unused. Pools that send
//! the PROXY protocol header (`PROXY`, `PROXYV2`) name one client on each connection, so those
//! connections are private to the client connection ([`Upstreams`]), as HAProxy makes them.
//!
//! HTTP pools with TLS to their members (`tls_enabled`) open their connections through rustls
//! with the pool's configuration; an idle connection is only reused by requests of a pool
//! with that same configuration ([`Key`]: it was verified against that pool's CA).
//!
//! A request that could not be sent (the connection failed to open, or an idle one turned out
//! closed before the request was written) comes back to the caller untouched, body included,
//! so it can go to another member without being copied ([`SendError::Connect`]).

use std::{
    cell::RefCell,
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http::{Request, Response};
use hyper::{
    body::Incoming,
    client::conn::{TrySendError, http1},
};
use hyper_util::rt::TokioIo;
use lb_proto::PoolProtocol;
use tokio::{io::AsyncWriteExt as _, net::TcpStream};

use super::body::ReqBody;

/// Idle connections kept per member and worker (HAProxy keeps idle server connections
/// without a per-server cap by default; this bounds the descriptors a burst leaves behind).
pub const IDLE_PER_MEMBER: usize = 256;
/// Idle connections a client connection keeps to PROXY-protocol members.
pub const PRIVATE_IDLE: usize = 8;
/// How long an idle member connection is kept unused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often each worker drops expired and closed idle connections.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Why a request did not reach its member.
#[derive(Debug)]
pub enum SendError {
    /// No connection to the member; the request was not sent and is handed back (boxed:
    /// the failure path allocates, the usual one stays small).
    Connect {
        error: std::io::Error,
        request: Box<Request<ReqBody>>,
    },
    /// The request was sent (or partly) and the exchange failed.
    Exchange(hyper::Error),
}

/// What an idle connection is found by: the member's address and the TLS configuration it
/// was opened with (its identity; 0: clear text). The connection keeps its configuration
/// alive ([`Tls`]), so the identity cannot be reused by another one meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    addr: SocketAddr,
    tls: usize,
}

type Tls = Option<Arc<rustls::ClientConfig>>;

impl Key {
    fn of(addr: SocketAddr, tls: &Tls) -> Self {
        Self {
            addr,
            tls: tls.as_ref().map_or(0, |c| Arc::as_ptr(c) as usize),
        }
    }
}

struct Idle {
    tx: http1::SendRequest<ReqBody>,
    since: Instant,
    _tls: Tls,
}

impl Idle {
    fn fresh(&self, now: Instant) -> bool {
        !self.tx.is_closed() && now.duration_since(self.since) < IDLE_TIMEOUT
    }
}

thread_local! {
    /// The worker's idle connections to members of plain pools, by member address.
    static SHARED: RefCell<HashMap<Key, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// Drops the calling worker's expired and closed idle connections (closing them).
pub fn sweep() {
    let now = Instant::now();
    SHARED.with_borrow_mut(|m| {
        m.retain(|_, v| {
            v.retain(|c| c.fresh(now));
            !v.is_empty()
        });
    });
}

/// Sweeps the calling worker's idle connections every [`SWEEP_EVERY`], for ever.
pub async fn sweep_loop() {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        sweep();
    }
}

/// Connections of one client connection to its members.
pub struct Upstreams {
    client: SocketAddr,
    local: SocketAddr,
    /// Idle connections to PROXY-protocol members, by member address and protocol.
    private: Mutex<Vec<(Key, PoolProtocol, Idle)>>,
}

/// Where a connection goes back to.
enum Home {
    Shared,
    Private(Arc<Upstreams>, PoolProtocol),
}

/// A member connection carrying a response; give it back with [`Lease::release`] once the
/// response body has ended. Dropped otherwise: the connection closes.
pub struct Lease {
    tx: http1::SendRequest<ReqBody>,
    key: Key,
    tls: Tls,
    home: Home,
}

impl Lease {
    /// The response ended cleanly: the connection may carry another request.
    pub fn release(self) {
        let idle = Idle {
            tx: self.tx,
            since: Instant::now(),
            _tls: self.tls,
        };
        match self.home {
            Home::Shared => SHARED.with_borrow_mut(|m| {
                let v = m.entry(self.key).or_default();
                if v.len() < IDLE_PER_MEMBER {
                    v.push(idle);
                }
            }),
            Home::Private(ups, protocol) => {
                if let Ok(mut v) = ups.private.lock()
                    && v.len() < PRIVATE_IDLE
                {
                    v.push((self.key, protocol, idle));
                }
            }
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("addr", &self.key.addr)
            .finish()
    }
}

impl Upstreams {
    /// The member connections of a client connection from `client` to `local`.
    #[must_use]
    pub fn new(client: SocketAddr, local: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            client,
            local,
            private: Mutex::new(Vec::new()),
        })
    }

    fn take_idle(&self, addr: Key, protocol: PoolProtocol) -> Option<Idle> {
        let now = Instant::now();
        if protocol.sends_proxy_header() {
            let mut v = self.private.lock().ok()?;
            while let Some(i) = v.iter().rposition(|(a, p, _)| *a == addr && *p == protocol) {
                let (_, _, c) = v.swap_remove(i);
                if c.fresh(now) {
                    return Some(c);
                }
            }
            None
        } else {
            SHARED.with_borrow_mut(|m| {
                let v = m.get_mut(&addr)?;
                while let Some(c) = v.pop() {
                    if c.fresh(now) {
                        return Some(c);
                    }
                }
                None
            })
        }
    }

    /// Sends `req` (origin-form URI, `Host` set) to the member at `addr` of a pool speaking
    /// `protocol` (over TLS with `tls`, the pool's configuration, if it has one), opening a
    /// connection within `connect_timeout` if no idle one is left.
    pub async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        (protocol, tls): (PoolProtocol, Option<&Arc<rustls::ClientConfig>>),
        connect_timeout: Duration,
        mut req: Request<ReqBody>,
    ) -> Result<(Response<Incoming>, Lease), SendError> {
        let tls: Tls = tls.cloned();
        let key = Key::of(addr, &tls);
        let home = || {
            if protocol.sends_proxy_header() {
                Home::Private(self.clone(), protocol)
            } else {
                Home::Shared
            }
        };
        // Idle connections first; one that closed in the meantime hands the request back.
        while let Some(mut c) = self.take_idle(key, protocol) {
            if c.tx.ready().await.is_err() {
                continue;
            }
            match c.tx.try_send_request(req).await {
                Ok(resp) => {
                    let lease = Lease {
                        tx: c.tx,
                        key,
                        tls,
                        home: home(),
                    };
                    return Ok((resp, lease));
                }
                Err(e) => req = unsent(e)?,
            }
        }
        let mut tx = match self
            .open(addr, protocol, tls.as_ref(), connect_timeout)
            .await
        {
            Ok(tx) => tx,
            Err(error) => {
                return Err(SendError::Connect {
                    error,
                    request: Box::new(req),
                });
            }
        };
        match tx.try_send_request(req).await {
            Ok(resp) => Ok((
                resp,
                Lease {
                    tx,
                    key,
                    tls,
                    home: home(),
                },
            )),
            Err(e) => Err(SendError::Connect {
                error: std::io::Error::other(e.error().to_string()),
                request: Box::new(unsent(e)?),
            }),
        }
    }

    async fn open(
        &self,
        addr: SocketAddr,
        protocol: PoolProtocol,
        tls: Option<&Arc<rustls::ClientConfig>>,
        connect_timeout: Duration,
    ) -> std::io::Result<http1::SendRequest<ReqBody>> {
        let timed_out = || std::io::Error::from(std::io::ErrorKind::TimedOut);
        let mut stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out())??;
        stream.set_nodelay(true)?;
        if protocol.sends_proxy_header() {
            let header = super::stream::header(protocol, self.client, self.local);
            stream.write_all(&header).await?;
        }
        let Some(tls) = tls else {
            return handshake(addr, stream).await;
        };
        // The member's address as the server name: members are addressed by IP, and their
        // certificate's name is not checked (`tls::MemberVerifier`).
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let connect = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, stream);
        let stream = tokio::time::timeout(connect_timeout, connect)
            .await
            .map_err(|_| timed_out())??;
        handshake(addr, stream).await
    }
}

/// HTTP/1.1 over a connection to the member at `addr`, its state machine on a task of its own.
async fn handshake<S>(addr: SocketAddr, stream: S) -> std::io::Result<http1::SendRequest<ReqBody>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        // `with_upgrades`: a 101 hands the connection over to the tunnel (`tunnel`).
        if let Err(error) = conn.with_upgrades().await {
            tracing::debug!(member = %addr, %error, "member connection ended with an error");
        }
    });
    Ok(tx)
}

/// The request back if it was never sent, else the exchange's error.
fn unsent(mut e: TrySendError<Request<ReqBody>>) -> Result<Request<ReqBody>, SendError> {
    match e.take_message() {
        Some(req) => Ok(req),
        None => Err(SendError::Exchange(e.into_error())),
    }
}
