//! The controller's client of the agent API: one HTTPS connection per call, mutual TLS with
//! the controller's client certificate, the agent checked against the server CA and its
//! management address.

use std::{net::IpAddr, sync::Arc, time::Duration};

use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode, body::Bytes};
use hyper_util::rt::TokioIo;
use lb_proto::{Applied, DesiredState};
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Why a call to an agent failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Could not reach or talk to the agent (retry later).
    #[error("agent {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    /// The agent refused the state (nothing applied there); retrying the same state is useless.
    #[error("agent refused the state: {0}")]
    Refused(String),
    /// The agent runs a newer generation than the one pushed.
    #[error("agent runs generation {} already", .0.generation)]
    Stale(Applied),
    /// Anything else the agent answered.
    #[error("agent answered {status}: {body}")]
    Failed { status: u16, body: String },
}

/// A client for the agents.
#[derive(Clone)]
pub struct AgentClient {
    tls: TlsConnector,
    timeout: Duration,
}

impl AgentClient {
    pub fn new(config: rustls::ClientConfig, timeout: Duration) -> Self {
        Self {
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
        }
    }

    /// Pushes a whole state; `Ok` when the agent runs it.
    pub async fn push(
        &self,
        address: IpAddr,
        port: u16,
        state: &DesiredState,
    ) -> Result<Applied, AgentError> {
        let body = serde_json::to_vec(state).map_err(|e| AgentError::Refused(e.to_string()))?;
        let (status, body) = self
            .call(address, port, Method::PUT, lb_proto::STATE_PATH, body)
            .await?;
        match status {
            StatusCode::OK => serde_json::from_slice(&body).map_err(|e| AgentError::Failed {
                status: 200,
                body: format!("undecodable answer: {e}"),
            }),
            StatusCode::BAD_REQUEST => {
                let reason = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
                Err(AgentError::Refused(reason))
            }
            StatusCode::CONFLICT => match serde_json::from_slice::<Applied>(&body) {
                Ok(applied) => Err(AgentError::Stale(applied)),
                Err(_) => Err(AgentError::Failed {
                    status: 409,
                    body: String::from_utf8_lossy(&body).into_owned(),
                }),
            },
            other => Err(AgentError::Failed {
                status: other.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            }),
        }
    }

    async fn call(
        &self,
        address: IpAddr,
        port: u16,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), AgentError> {
        let addr = std::net::SocketAddr::new(address, port).to_string();
        let unreachable = |reason: String| AgentError::Unreachable {
            addr: addr.clone(),
            reason,
        };
        let work = async {
            let tcp = tokio::net::TcpStream::connect((address, port))
                .await
                .map_err(|e| unreachable(format!("connect: {e}")))?;
            let tls = self
                .tls
                .connect(ServerName::IpAddress(address.into()), tcp)
                .await
                .map_err(|e| unreachable(format!("TLS: {e}")))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| unreachable(format!("HTTP: {e}")))?;
            let driver = tokio::spawn(conn);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", addr.as_str())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| unreachable(format!("request: {e}")))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| unreachable(format!("HTTP: {e}")))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            driver.abort();
            Ok((status, bytes))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
    }
}
