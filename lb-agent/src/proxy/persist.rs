//! Session persistence for HTTP pools, as Octavia configures HAProxy:
//! - `HTTP_COOKIE`: `cookie SRV insert indirect nocache` — the proxy sets `SRV=<member id>` on
//!   the first response, sends later requests carrying it to that member and strips it from
//!   what the member sees;
//! - `APP_COOKIE`: `stick store-response res.cook(<name>)` / `stick match req.cook(<name>)` —
//!   the value of the application's cookie (first 64 bytes) in a response is remembered for
//!   the member that sent it, and requests carrying that value go there;
//! - `SOURCE_IP`: `stick on src` — the (masked) source address sticks to its first member for
//!   `persistence_timeout` seconds after its last request.
//!
//! A member that is down, drained (weight 0) or disabled breaks persistence: the request is
//! balanced as a new one and the stickiness moves to the new member.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, LazyLock},
    time::Instant,
};

use http::{HeaderMap, HeaderValue, header};
use lb_proto::{PersistenceType, SessionPersistence};

use super::{
    select::{PoolRt, masked},
    stick::{StickTable, key_hash},
};

/// HAProxy's cookie name in Octavia's `HTTP_COOKIE` persistence.
pub const SRV_COOKIE: &str = "SRV";
/// Bytes of an application cookie's value that are remembered (HAProxy: `string len 64`).
pub const APP_COOKIE_LEN: usize = 64;
/// Entries of a pool's stickiness table (Octavia's `stick_size` default: 10,000), rounded up.
pub const STICK_SLOTS: usize = 16_384;
/// `SOURCE_IP` entries expire after this many seconds without a request when the pool sets no
/// `persistence_timeout` (Octavia's default for it).
pub const DEFAULT_TIMEOUT_S: u32 = 360;

/// A pool's persistence settings and its table.
pub struct Persistence {
    pub kind: PersistenceType,
    pub cookie_name: Option<String>,
    pub ttl_s: u32,
    pub mask: Option<IpAddr>,
    pub table: Arc<StickTable>,
}

impl Persistence {
    /// Settings from the desired state; `table` is the pool's (kept across pushes).
    #[must_use]
    pub fn new(sp: &SessionPersistence, table: Arc<StickTable>) -> Self {
        Self {
            kind: sp.kind,
            cookie_name: sp.cookie_name.clone(),
            ttl_s: match sp.kind {
                PersistenceType::SourceIp => sp.persistence_timeout.unwrap_or(DEFAULT_TIMEOUT_S),
                // Application sessions live until the table evicts them, as in HAProxy.
                _ => 0,
            },
            mask: sp
                .persistence_granularity
                .as_deref()
                .and_then(|g| g.parse().ok()),
            table,
        }
    }
}

/// Seconds since the agent started (the stickiness tables' clock).
#[must_use]
pub fn now_s() -> u32 {
    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    u32::try_from(START.elapsed().as_secs()).unwrap_or(u32::MAX)
}

/// The value of cookie `name` in the request's `Cookie` headers, if any.
#[must_use]
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn source_key(p: &Persistence, client: SocketAddr) -> u64 {
    match masked(client.ip(), p.mask) {
        IpAddr::V4(a) => key_hash(&a.octets()),
        IpAddr::V6(a) => key_hash(&a.octets()),
    }
}

fn app_key(value: &str) -> u64 {
    let b = value.as_bytes();
    key_hash(&b[..b.len().min(APP_COOKIE_LEN)])
}

/// The member a request sticks to, if its persistence names a usable one.
#[must_use]
pub fn sticky(pool: &PoolRt, headers: &HeaderMap, client: SocketAddr) -> Option<usize> {
    let p = pool.persistence.as_ref()?;
    match p.kind {
        PersistenceType::HttpCookie => pool.usable_id(cookie(headers, SRV_COOKIE)?),
        PersistenceType::AppCookie => {
            let value = cookie(headers, p.cookie_name.as_deref()?)?;
            let serial = p.table.get(app_key(value), now_s(), 0)?;
            pool.usable_serial(serial)
        }
        PersistenceType::SourceIp => {
            let serial = p.table.get(source_key(p, client), now_s(), p.ttl_s)?;
            pool.usable_serial(serial)
        }
    }
}

/// Records a `SOURCE_IP` choice.
pub fn chosen(pool: &PoolRt, member: usize, client: SocketAddr) {
    if let Some(p) = &pool.persistence
        && p.kind == PersistenceType::SourceIp
    {
        p.table
            .put(source_key(p, client), pool.members[member].serial, now_s());
    }
}

/// Request side, `HTTP_COOKIE` (`indirect`): removes the `SRV` cookie the member must not see.
pub fn strip_request_cookie(pool: &PoolRt, headers: &mut HeaderMap) {
    if !pool
        .persistence
        .as_ref()
        .is_some_and(|p| p.kind == PersistenceType::HttpCookie)
        || cookie(headers, SRV_COOKIE).is_none()
    {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| pair.split_once('=').is_none_or(|(k, _)| k != SRV_COOKIE))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, v);
    }
}

/// Response side: `HTTP_COOKIE` inserts `SRV=<member>` unless the request already carried it
/// (and marks the response private, HAProxy's `nocache`); `APP_COOKIE` learns the
/// application's cookie.
pub fn on_response(pool: &PoolRt, member: usize, sent_srv: Option<&str>, headers: &mut HeaderMap) {
    let Some(p) = &pool.persistence else { return };
    let m = &pool.members[member];
    match p.kind {
        PersistenceType::HttpCookie if sent_srv != Some(&*m.id) => {
            if let Ok(v) = HeaderValue::from_str(&format!("{SRV_COOKIE}={}; path=/", m.id)) {
                headers.append(header::SET_COOKIE, v);
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            }
        }
        PersistenceType::AppCookie => {
            let Some(name) = p.cookie_name.as_deref() else {
                return;
            };
            for v in headers
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                let first = v.split(';').next().unwrap_or_default().trim();
                if let Some((k, value)) = first.split_once('=')
                    && k == name
                {
                    p.table.put(app_key(value), m.serial, now_s());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use lb_proto::{Algorithm, PoolProtocol};

    use super::*;
    use crate::proxy::select::MemberRt;

    fn pool(kind: PersistenceType, usable: [bool; 2]) -> PoolRt {
        let members = (0..2)
            .map(|i: u32| {
                let addr: SocketAddr = format!("198.18.1.{}:80", 11 + i).parse().unwrap();
                MemberRt {
                    id: format!("m{i}").into(),
                    serial: i + 1,
                    addr,
                    authority: addr.to_string().parse().unwrap(),
                    weight: 1,
                    backup: false,
                    usable: usable[i as usize],
                    inflight: Arc::new(AtomicU64::new(0)),
                }
            })
            .collect();
        let sp = SessionPersistence {
            kind,
            cookie_name: Some("JSESSIONID".into()),
            persistence_timeout: Some(60),
            persistence_granularity: Some("255.255.255.0".into()),
        };
        let p = Persistence::new(&sp, Arc::new(StickTable::new(64)));
        PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            members,
            Some(p),
        )
    }

    fn cookies(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn http_cookie_names_the_member_and_is_stripped_before_the_member() {
        let p = pool(PersistenceType::HttpCookie, [true, true]);
        let client: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let mut resp = HeaderMap::new();
        on_response(&p, 1, None, &mut resp);
        assert_eq!(resp[header::SET_COOKIE], "SRV=m1; path=/");
        assert_eq!(resp[header::CACHE_CONTROL], "private");
        let mut req = cookies("a=1; SRV=m1; b=2");
        assert_eq!(sticky(&p, &req, client), Some(1));
        strip_request_cookie(&p, &mut req);
        assert_eq!(req[header::COOKIE], "a=1; b=2");
        let mut again = HeaderMap::new();
        on_response(&p, 1, Some("m1"), &mut again);
        assert!(again.get(header::SET_COOKIE).is_none(), "no second cookie");
        let down = pool(PersistenceType::HttpCookie, [true, false]);
        assert_eq!(
            sticky(&down, &cookies("SRV=m1"), client),
            None,
            "a down member breaks it"
        );
    }

    #[test]
    fn app_cookie_is_learned_from_responses() {
        let p = pool(PersistenceType::AppCookie, [true, true]);
        let client: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        assert_eq!(sticky(&p, &cookies("JSESSIONID=abc"), client), None);
        let mut resp = HeaderMap::new();
        resp.append(header::SET_COOKIE, HeaderValue::from_static("other=1"));
        resp.append(
            header::SET_COOKIE,
            HeaderValue::from_static("JSESSIONID=abc; Path=/; HttpOnly"),
        );
        on_response(&p, 1, None, &mut resp);
        assert_eq!(sticky(&p, &cookies("x=y; JSESSIONID=abc"), client), Some(1));
        assert_eq!(sticky(&p, &cookies("JSESSIONID=abd"), client), None);
    }

    #[test]
    fn source_ip_sticks_per_masked_source_until_the_member_goes() {
        let p = pool(PersistenceType::SourceIp, [true, true]);
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let same_net: SocketAddr = "10.0.0.99:2000".parse().unwrap();
        let other: SocketAddr = "10.0.1.1:1000".parse().unwrap();
        chosen(&p, 1, a);
        assert_eq!(sticky(&p, &HeaderMap::new(), same_net), Some(1));
        assert_eq!(sticky(&p, &HeaderMap::new(), other), None);
        let down = PoolRt::new(
            "p",
            PoolProtocol::Http,
            Algorithm::RoundRobin,
            pool(PersistenceType::SourceIp, [true, false]).members,
            p.persistence,
        );
        assert_eq!(sticky(&down, &HeaderMap::new(), a), None);
    }
}
