//! TCP listeners whose pool speaks the PROXY protocol (`PROXY`, `PROXYV2`): the proxy accepts
//! the client, connects to the member chosen by the pool (persistence `SOURCE_IP` honoured),
//! sends the PROXY header naming the client and the VIP, then relays bytes both ways. Each
//! direction ends after its side's inactivity timeout (`timeout_client_data` for the client,
//! `timeout_member_data` for the member), as HAProxy's `timeout client`/`timeout server`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use lb_proto::PoolProtocol;
use tokio::{
    io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _},
    net::TcpStream,
};

use super::{
    http::Peer,
    io::Counted,
    listen::ListenerRt,
    persist,
    retry::{self, Next},
    select::InFlight,
};

/// Relay buffer per direction (the tunnels of `tunnel` use it too).
const BUF: usize = 16 * 1024;

/// The PROXY protocol header for a connection from `client` to `local`.
#[must_use]
pub fn header(protocol: PoolProtocol, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    match protocol {
        PoolProtocol::Proxyv2 => ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (client, local),
        )
        .build()
        .unwrap_or_default(),
        PoolProtocol::Proxy => ppp::v1::Addresses::from((client, local))
            .to_string()
            .into_bytes(),
        _ => Vec::new(),
    }
}

pub(super) async fn relay(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    idle: Duration,
) {
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match tokio::time::timeout(idle, from.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    // Half-close: the other side learns there is no more to read.
    let _ = to.shutdown().await;
}

/// Serves one client connection of a TCP listener with a PROXY pool.
pub async fn serve(rt: Arc<ListenerRt>, client: TcpStream, peer: Peer) {
    let cfg = rt.cfg.load_full();
    let Some(pool) = cfg.default_pool.clone() else {
        return;
    };
    let Some(mut member) = persist::sticky(&pool, &http::HeaderMap::new(), peer.client)
        .or_else(|| pool.choose(peer.client, None))
    else {
        cfg.counters.error();
        return;
    };
    let mut upstream = None;
    for attempt in 0..=retry::RETRIES {
        let addr = pool.members[member].addr;
        if let Ok(Ok(s)) =
            tokio::time::timeout(cfg.timeouts.member_connect, TcpStream::connect(addr)).await
        {
            upstream = Some(s);
            break;
        }
        tracing::debug!(member = %pool.members[member].id, attempt, "member connection failed");
        match retry::next(attempt, cfg.timeouts.member_connect, || {
            pool.choose(peer.client, Some(member))
                .filter(|&m| m != member)
        }) {
            Next::Same(pause) => tokio::time::sleep(pause).await,
            Next::Other(other) => member = other,
            Next::GiveUp => break,
        }
    }
    let Some(mut upstream) = upstream else {
        cfg.counters.error();
        return;
    };
    persist::chosen(&pool, member, peer.client);
    let _inflight = InFlight::new(&pool.members[member].inflight);
    let _ = upstream.set_nodelay(true);
    if upstream
        .write_all(&header(pool.protocol, peer.client, peer.local))
        .await
        .is_err()
    {
        cfg.counters.error();
        return;
    }
    let client = Counted::new(client, cfg.counters.clone());
    let (cr, cw) = tokio::io::split(client);
    let (ur, uw) = upstream.into_split();
    tokio::join!(
        relay(cr, uw, cfg.timeouts.client_data),
        relay(ur, cw, cfg.timeouts.member_data),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_both_versions_name_client_and_vip() {
        let c: SocketAddr = "198.18.0.1:40000".parse().unwrap();
        let l: SocketAddr = "198.18.0.100:80".parse().unwrap();
        assert_eq!(
            header(PoolProtocol::Proxy, c, l),
            b"PROXY TCP4 198.18.0.1 198.18.0.100 40000 80\r\n"
        );
        let v2 = header(PoolProtocol::Proxyv2, c, l);
        assert_eq!(&v2[..12], ppp::v2::PROTOCOL_PREFIX);
        let parsed = ppp::v2::Header::try_from(v2.as_slice()).unwrap();
        assert_eq!(parsed.addresses, ppp::v2::Addresses::from((c, l)));
        assert!(header(PoolProtocol::Http, c, l).is_empty());
    }
}
