//! HTTP/1.1 upgrades (WebSocket and the like) through the proxy: a request asking for an
//! upgrade (`Connection: upgrade` + `Upgrade: <protocol>`) is forwarded with those two headers
//! (the only hop-by-hop ones that cross); when the member switches protocols (101), the client
//! gets the 101 and both connections become one tunnel, bytes copied both ways until either
//! side closes, as HAProxy does in HTTP mode. Each direction ends after its side's inactivity
//! timeout (`timeout_client_data` for the client's bytes, `timeout_member_data` for the
//! member's) and half-closes the other side, as HAProxy's `timeout client`/`timeout server`
//! apply to a tunnel when `timeout tunnel` is not set (Octavia does not set it). The member
//! connection is the tunnel's own (it never returns to the idle table) and the request counts
//! as in flight on its member while the tunnel lives (least connections). HTTP/2 clients cannot upgrade (no `Connection`
//! header; extended CONNECT is not supported).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::{select::InFlight, upstream::Lease};

/// The `Upgrade` value of a request that asks for an upgrade (HTTP/1.1: `Connection` names
/// `upgrade`), else `None`.
#[must_use]
pub fn requested(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Puts the upgrade headers back on a message whose hop-by-hop headers were stripped.
pub fn mark(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(header::UPGRADE, upgrade);
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Joins the client's and the member's upgraded connections once both are handed over.
pub fn spawn(
    client: OnUpgrade,
    member: OnUpgrade,
    held: (InFlight, Lease),
    (client_idle, member_idle): (Duration, Duration),
) {
    tokio::spawn(async move {
        let (client, member) = match tokio::try_join!(client, member) {
            Ok(both) => both,
            Err(error) => {
                tracing::debug!(%error, "upgrade not completed");
                return;
            }
        };
        // The lease (the member connection's sender) is kept until the member's side was
        // handed over, then released with the in-flight count when the tunnel ends.
        let _held = held;
        let (cr, cw) = tokio::io::split(TokioIo::new(client));
        let (mr, mw) = tokio::io::split(TokioIo::new(member));
        tokio::join!(
            super::stream::relay(cr, mw, client_idle),
            super::stream::relay(mr, cw, member_idle),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_naming_upgrade_in_connection_ask_for_one() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert_eq!(requested(&h), None);
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(requested(&h), Some(HeaderValue::from_static("websocket")));
        h.remove(header::UPGRADE);
        assert_eq!(requested(&h), None);
        let mut m = HeaderMap::new();
        mark(&mut m, HeaderValue::from_static("websocket"));
        assert_eq!(requested(&m), Some(HeaderValue::from_static("websocket")));
    }
}
