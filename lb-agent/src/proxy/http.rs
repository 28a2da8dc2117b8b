//! One HTTP request through the proxy: the listener's L7 policies decide (reject, redirect,
//! pool), persistence or the pool's algorithm picks the member, the request goes there over a
//! keep-alive HTTP/1.1 connection (`upstream`) with the listener's inserted headers, and the
//! response streams back. A request that could not be sent (connection refused or timed out)
//! is retried as HAProxy retries (`retry`); it was not sent, so its body (if any) is still
//! whole.
//!
//! The proxy's own answers follow HAProxy's: 403 for `REJECT`, 3xx for redirects, 502 when no
//! member can take the request or the member connection fails, 503 when the listener has no
//! usable pool, 504 when the member does not answer within `timeout_member_data`.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use http::{
    HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, Version, header,
    request::Parts,
};
use hyper::body::Incoming;

use super::{
    body::{BodyTimeout, Inactivity, ReqBody, RespBody},
    client_cert::TlsSession,
    config::{InsertHeaders, ListenerCfg, SslHeaders},
    persist,
    retry::{self, Next},
    rules::Decision,
    select::{InFlight, PoolRt},
    tunnel,
    upstream::{SendError, Upstreams},
};

/// Addresses of the client connection a request came on.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub client: SocketAddr,
    pub local: SocketAddr,
}

fn html(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => {
            "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
        }
        408 => {
            "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"
        }
        403 => {
            "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"
        }
        502 => {
            "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"
        }
        503 => {
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
        }
        504 => {
            "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"
        }
        _ => "",
    }
}

/// An answer of the proxy's own; 5xx count as `request_errors`.
pub fn own(cfg: &ListenerCfg, status: StatusCode) -> Response<RespBody> {
    if status.is_server_error() {
        cfg.counters.error();
    }
    let mut r = Response::new(RespBody::own(html(status)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn redirect(code: u16, location: &str) -> Response<RespBody> {
    let mut r = Response::new(RespBody::Own(None));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::FOUND);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

/// Headers that concern one connection only (RFC 9110 §7.6.1) and never cross the proxy.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP.iter()) {
        h.remove(n);
    }
    h.remove(header::TRANSFER_ENCODING);
}

fn insert_headers(h: &mut HeaderMap, want: InsertHeaders, peer: Peer, https: bool) {
    let client = || HeaderValue::from_str(&peer.client.ip().to_string()).ok();
    if want.forwarded_for
        && let Some(v) = client()
    {
        // HAProxy's `option forwardfor` adds its own header after any the client sent.
        h.append(HeaderName::from_static("x-forwarded-for"), v);
    }
    if want.forwarded_port {
        h.insert(
            HeaderName::from_static("x-forwarded-port"),
            HeaderValue::from(peer.local.port()),
        );
    }
    if want.forwarded_proto {
        h.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static(if https { "https" } else { "http" }),
        );
    }
    for (on, name) in [
        (want.forwarded_ip, "x-forwarded-ip"),
        (want.client_ip, "x-client-ip"),
        (want.real_ip, "x-real-ip"),
    ] {
        if on && let Some(v) = client() {
            h.insert(HeaderName::from_static(name), v);
        }
    }
}

/// The `X-SSL-*` headers of a TERMINATED_HTTPS request, as Octavia's template has HAProxy
/// set them: verify result and whether a certificate came always, the certificate's fields
/// (quoted, HAProxy's `%{+Q}`) when there is one.
fn insert_ssl_headers(h: &mut HeaderMap, want: SslHeaders, tls: &TlsSession) {
    // The handshake fails for a certificate that does not verify: 0 is X509_V_OK.
    if want.client_verify {
        h.insert("x-ssl-client-verify", HeaderValue::from_static("0"));
    }
    if want.client_has_cert {
        let has = if tls.client_cert.is_some() { "1" } else { "0" };
        h.insert("x-ssl-client-has-cert", HeaderValue::from_static(has));
    }
    let Some(quoted) = &tls.quoted else {
        return;
    };
    let names = [
        (want.client_dn, "x-ssl-client-dn"),
        (want.client_cn, "x-ssl-client-cn"),
        (want.issuer, "x-ssl-issuer"),
        (want.client_sha1, "x-ssl-client-sha1"),
        (want.client_not_before, "x-ssl-client-not-before"),
        (want.client_not_after, "x-ssl-client-not-after"),
    ];
    for ((on, name), value) in names.into_iter().zip(quoted) {
        if on && let Some(v) = value {
            h.insert(name, v.clone());
        }
    }
}

/// The request as the member gets it: origin-form URI, `Host`, the listener's headers.
fn prepare(
    parts: &mut Parts,
    cfg: &ListenerCfg,
    pool: &PoolRt,
    (peer, tls): (Peer, Option<&TlsSession>),
) {
    // HTTP/2 requests carry the host in `:authority`; HTTP/1.1 members need `Host`.
    if !parts.headers.contains_key(header::HOST)
        && let Some(a) = parts.uri.authority()
        && let Ok(v) = HeaderValue::from_str(a.as_str())
    {
        parts.headers.insert(header::HOST, v);
    }
    strip_hop_by_hop(&mut parts.headers);
    persist::strip_request_cookie(pool, &mut parts.headers);
    let https = cfg.protocol == lb_proto::ListenerProtocol::TerminatedHttps;
    insert_headers(&mut parts.headers, cfg.headers, peer, https);
    if let Some(tls) = tls {
        insert_ssl_headers(&mut parts.headers, cfg.headers.ssl, tls);
    }
    parts.version = Version::HTTP_11;
    // Absolute-form (HTTP/1.1 to a proxy) and HTTP/2 URIs carry scheme and authority; the
    // member gets the path and query only.
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        parts.uri = parts
            .uri
            .path_and_query()
            .map_or_else(|| Uri::from_static("/"), |pq| Uri::from(pq.clone()));
    }
}

/// Serves one request of a listener.
pub async fn handle(
    cfg: Arc<ListenerCfg>,
    upstreams: Arc<Upstreams>,
    peer: Peer,
    tls: Option<Arc<TlsSession>>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    cfg.counters.request();
    let (parts, body) = req.into_parts();
    let decision = match &tls {
        Some(t) => cfg.policies.decide_with(&parts, &t.for_rules()),
        None => cfg.policies.decide(&parts),
    };
    let pool = match decision {
        Decision::Reject => return Ok(own(&cfg, StatusCode::FORBIDDEN)),
        Decision::Redirect { code, location } => return Ok(redirect(code, &location)),
        Decision::Pool(id) => cfg.pools.get(id),
        Decision::Default => cfg.default_pool.as_ref(),
    };
    let Some(pool) = pool else {
        return Ok(own(&cfg, StatusCode::SERVICE_UNAVAILABLE));
    };
    Ok(forward(&cfg, &upstreams, pool, (peer, tls.as_deref()), parts, body).await)
}

async fn forward(
    cfg: &ListenerCfg,
    upstreams: &Arc<Upstreams>,
    pool: &PoolRt,
    (peer, tls): (Peer, Option<&TlsSession>),
    mut parts: Parts,
    body: Incoming,
) -> Response<RespBody> {
    let sent_srv: Option<String> = pool
        .persistence
        .as_ref()
        .filter(|p| p.kind == lb_proto::PersistenceType::HttpCookie)
        .and_then(|_| persist::cookie(&parts.headers, persist::SRV_COOKIE))
        .map(str::to_owned);
    let Some(mut member) = persist::sticky(pool, &parts.headers, peer.client)
        .or_else(|| pool.choose(peer.client, None))
    else {
        return own(cfg, StatusCode::BAD_GATEWAY);
    };
    // An HTTP/1.1 upgrade (WebSocket): the client's side of it, and the protocol asked for.
    let upgrade = tunnel::requested(&parts.headers).and_then(|protocol| {
        let on = parts.extensions.remove::<hyper::upgrade::OnUpgrade>()?;
        Some((protocol, on))
    });
    prepare(&mut parts, cfg, pool, (peer, tls));
    if let Some((protocol, _)) = &upgrade {
        tunnel::mark(&mut parts.headers, protocol.clone());
    }
    let idle = Inactivity::new(cfg.timeouts.client_data);
    let mut req = Request::from_parts(parts, ReqBody::Client(body, idle));
    let wait = cfg.timeouts.member_connect + cfg.timeouts.member_data;
    for attempt in 0..=retry::RETRIES {
        let m = &pool.members[member];
        let guard = InFlight::new(&m.inflight);
        let sent = upstreams.send(
            m.addr,
            (pool.protocol, pool.tls.as_ref()),
            cfg.timeouts.member_connect,
            req,
        );
        match tokio::time::timeout(wait, sent).await {
            Err(_) => return own(cfg, StatusCode::GATEWAY_TIMEOUT),
            Ok(Ok((mut resp, lease))) => {
                persist::chosen(pool, member, peer.client);
                if resp.status() == StatusCode::SWITCHING_PROTOCOLS
                    && let Some((_, client_side)) = upgrade
                {
                    let member_side = hyper::upgrade::on(&mut resp);
                    let (mut rp, _) = resp.into_parts();
                    let protocol = rp.headers.get(header::UPGRADE).cloned();
                    strip_hop_by_hop(&mut rp.headers);
                    if let Some(p) = protocol {
                        tunnel::mark(&mut rp.headers, p);
                    }
                    tunnel::spawn(
                        client_side,
                        member_side,
                        (guard, lease),
                        (cfg.timeouts.client_data, cfg.timeouts.member_data),
                    );
                    return Response::from_parts(rp, RespBody::Own(None));
                }
                let (mut rp, rb) = resp.into_parts();
                strip_hop_by_hop(&mut rp.headers);
                persist::on_response(pool, member, sent_srv.as_deref(), &mut rp.headers);
                let body = RespBody::member(rb, guard, lease, cfg.timeouts.member_data);
                return Response::from_parts(rp, body);
            }
            Ok(Err(SendError::Connect { error, request })) => {
                tracing::debug!(member = %m.id, %error, attempt, "member connection failed");
                drop(guard);
                req = *request;
                match retry::next(attempt, cfg.timeouts.member_connect, || {
                    pool.choose(peer.client, Some(member))
                        .filter(|&m| m != member)
                }) {
                    Next::Same(pause) => tokio::time::sleep(pause).await,
                    Next::Other(other) => member = other,
                    Next::GiveUp => return own(cfg, StatusCode::BAD_GATEWAY),
                }
            }
            Ok(Err(SendError::Exchange(error))) => {
                tracing::debug!(member = %m.id, %error, "member request failed");
                // The client stopped sending its body: 408, as HAProxy's `timeout client`.
                if client_timed_out(&error) {
                    return own(cfg, StatusCode::REQUEST_TIMEOUT);
                }
                return own(cfg, StatusCode::BAD_GATEWAY);
            }
        }
    }
    own(cfg, StatusCode::BAD_GATEWAY)
}

/// Whether an exchange failed because the client's body timed out.
fn client_timed_out(error: &hyper::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        if e.is::<BodyTimeout>() {
            return true;
        }
        cause = e.source();
    }
    false
}
