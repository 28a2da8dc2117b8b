//! One health check of a member, per Octavia monitor type, bounded by the monitor's timeout:
//! TCP connect; HTTP/HTTPS request with the status code matched against `expected_codes`;
//! TLS-HELLO (a TLS handshake completes; the member's certificate is not verified, as
//! Octavia's amphora does not); UDP-CONNECT (down only when the member's host answers ICMP
//! port unreachable); PING (ICMP/ICMPv6 echo on a raw socket); SCTP (INIT answered by INIT-ACK,
//! on a raw socket).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use lb_proto::{Monitor, MonitorType};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use lb_proto::expected::Expected;

/// Why a probe failed (kept for the log).
pub type Failure = String;

/// Runs one probe of `monitor` against `target` (the member's monitor address and port).
pub async fn probe(monitor: &Monitor, target: SocketAddr) -> Result<(), Failure> {
    let timeout = Duration::from_secs(u64::from(monitor.timeout.max(1)));
    let work = async {
        match monitor.kind {
            MonitorType::Tcp => tcp(target).await.map(drop),
            MonitorType::Http => http(monitor, target, false).await,
            MonitorType::Https => http(monitor, target, true).await,
            MonitorType::TlsHello => tls(target).await.map(drop),
            MonitorType::UdpConnect => udp_connect(target, timeout).await,
            MonitorType::Ping => ping(target.ip(), timeout).await,
            MonitorType::Sctp => {
                tokio::task::spawn_blocking(move || super::probe_sctp::check(target, timeout))
                    .await
                    .map_err(|e| format!("SCTP task: {e}"))?
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", timeout.as_secs())))
}

async fn tcp(target: SocketAddr) -> Result<tokio::net::TcpStream, Failure> {
    tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| format!("connect: {e}"))
}

async fn tls(
    target: SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Failure> {
    let tcp = tcp(target).await?;
    let connector = tokio_rustls::TlsConnector::from(insecure_client());
    connector
        .connect(ServerName::IpAddress(target.ip().into()), tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))
}

async fn http(monitor: &Monitor, target: SocketAddr, secure: bool) -> Result<(), Failure> {
    let version = match monitor.http_version {
        Some(v) if v >= 1.05 => "1.1",
        _ => "1.0",
    };
    let host = monitor
        .domain_name
        .clone()
        .unwrap_or_else(|| target.ip().to_string());
    let request = format!(
        "{} {} HTTP/{version}\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: lb-agent-health-check\r\n\r\n",
        monitor.http_method, monitor.url_path
    );
    let head = if secure {
        exchange(tls(target).await?, request.as_bytes()).await?
    } else {
        exchange(tcp(target).await?, request.as_bytes()).await?
    };
    let code = status_code(&head).ok_or_else(|| "no HTTP status line".to_owned())?;
    let expected = Expected::parse(&monitor.expected_codes)
        .ok_or_else(|| format!("expected_codes {:?} is invalid", monitor.expected_codes))?;
    if expected.matches(code) {
        Ok(())
    } else {
        Err(format!("HTTP {code}, expected {}", monitor.expected_codes))
    }
}

/// Sends the request, reads until the status line is complete (at most 4 KiB).
async fn exchange<S>(mut stream: S, request: &[u8]) -> Result<Vec<u8>, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    Ok(head)
}

fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

async fn udp_connect(target: SocketAddr, timeout: Duration) -> Result<(), Failure> {
    let any: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(any)
        .await
        .map_err(|e| format!("socket: {e}"))?;
    socket
        .connect(target)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    socket.send(b"\n").await.map_err(|e| format!("send: {e}"))?;
    // An ICMP port unreachable arrives within a round trip; wait a little less than the
    // monitor's timeout for it.
    let wait = timeout
        .saturating_sub(Duration::from_millis(100))
        .max(Duration::from_millis(100));
    let mut buf = [0u8; 512];
    match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
        Err(_) | Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("UDP: {e}")),
    }
}

async fn ping(addr: IpAddr, timeout: Duration) -> Result<(), Failure> {
    tokio::task::spawn_blocking(move || super::probe_ping::echo(addr, timeout))
        .await
        .map_err(|e| format!("ping task: {e}"))?
}

/// TLS without certificate verification (health checks only prove the member speaks TLS).
fn insecure_client() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.dangerous()
                        .with_custom_certificate_verifier(Arc::new(
                            crate::proxy::tls::MemberVerifier::unverified(provider),
                        ))
                        .with_no_client_auth()
                });
            match config {
                Ok(c) => Arc::new(c),
                // The ring provider supports the default versions.
                Err(_) => unreachable!("ring supports TLS 1.2 and 1.3"),
            }
        })
        .clone()
}
