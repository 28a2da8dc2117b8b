//! How the proxy connects to members: hyper-util's `HttpConnector` (connect timeout, no
//! Nagle), plus, for pools speaking the PROXY protocol (`PROXY`, `PROXYV2`), the header naming
//! the client, written first on every new connection. Such connections carry one client's
//! address, so they are private to that client connection (HAProxy makes `send-proxy`
//! connections private too); the others are shared by all clients of the listener.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::Uri;
use hyper_util::{client::legacy::connect::HttpConnector, rt::TokioIo};
use lb_proto::PoolProtocol;
use tokio::{io::AsyncWriteExt as _, net::TcpStream};

/// A connector to members, optionally sending a PROXY protocol header.
#[derive(Clone)]
pub struct MemberConnector {
    http: HttpConnector,
    header: Option<Arc<[u8]>>,
}

impl MemberConnector {
    /// Plain connections within `connect_timeout`.
    #[must_use]
    pub fn new(connect_timeout: std::time::Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(true);
        Self { http, header: None }
    }

    /// The same, each connection starting with the PROXY header of `client` → `local`.
    #[must_use]
    pub fn with_proxy_header(
        mut self,
        protocol: PoolProtocol,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Self {
        self.header = Some(super::stream::header(protocol, client, local).into());
        self
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, std::io::Error>> + Send>>;

impl tower_service::Service<Uri> for MemberConnector {
    type Response = TokioIo<TcpStream>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(std::io::Error::other)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let header = self.header.clone();
        Box::pin(async move {
            let mut io = connecting.await.map_err(std::io::Error::other)?;
            if let Some(h) = header {
                io.inner_mut().write_all(&h).await?;
            }
            Ok(io)
        })
    }
}
