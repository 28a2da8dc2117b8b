//! Pool request fields shared by create and update: `session_persistence` (WSME types
//! `SessionPersistencePOST/PUT` and `validate.check_session_persistence`) and the backend TLS
//! fields with Octavia's defaults and list checks (`db/prepare.py:create_pool`,
//! `validate.check_tls_version_list` / `check_alpn_protocols`).

use std::sync::LazyLock;

use regex::Regex;

use crate::{
    error::{ApiError, ApiResult},
    model::{
        input::{Field, Input, invalid, required},
        listener as lm,
        pool::{Pool, SP_TYPES, SessionPersistence},
    },
};

/// `SessionPersistencePOST.cookie_name` pattern.
static COOKIE_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^\s,;\\]+$").expect("valid cookie pattern"));
/// `check_session_persistence`'s bad cookie-name characters.
static BAD_COOKIE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\x00-\x20\x22\x28-\x29\x2c\x2f\x3a-\x40\x5b-\x5d\x7b\x7d\x7f]+")
        .expect("valid cookie character class")
});
/// `check_cipher_string`.
static CIPHERS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9\-+!:@=_.]+$").expect("valid cipher pattern"));

/// Default ALPN protocols for TLS-enabled pools (`default_pool_alpn_protocols`).
pub const DEFAULT_ALPN: [&str; 3] = ["h2", "http/1.1", "http/1.0"];

const SP_KEYS: &[&str] = &[
    "type",
    "cookie_name",
    "persistence_timeout",
    "persistence_granularity",
];

/// `session_persistence` as sent: absent, `null`/`{}` (remove), or an object whose `type` may be
/// missing (PUT keeps the stored type).
pub enum SpInput {
    Absent,
    Remove,
    Set {
        kind: Option<String>,
        cookie_name: Option<String>,
        persistence_timeout: Option<i64>,
        persistence_granularity: Option<String>,
    },
}

/// Read `session_persistence`; `post` makes `type` mandatory.
pub fn read_sp(i: &mut Input, post: bool) -> ApiResult<SpInput> {
    let v = match i.raw("session_persistence") {
        Field::Absent => return Ok(SpInput::Absent),
        Field::Null => return Ok(SpInput::Remove),
        Field::Set(v) => v,
    };
    if !post && v.as_object().is_some_and(serde_json::Map::is_empty) {
        return Ok(SpInput::Remove);
    }
    let mut sp = Input::from_value(v, "session_persistence", SP_KEYS)?;
    let kind = sp.one_of("type", SP_TYPES)?;
    let kind = if post {
        Some(required("type", kind)?)
    } else {
        kind.set()
    };
    let cookie_name = match sp.string("cookie_name", 255)? {
        Field::Set(c) if !COOKIE_PATTERN.is_match(&c) => {
            return Err(invalid(
                "cookie_name",
                &c,
                r"Value should match the pattern ^[^\s,;\\]+$",
            ));
        }
        other => other.set(),
    };
    let persistence_timeout = sp.int("persistence_timeout", i64::MIN, i64::MAX)?.set();
    let persistence_granularity = sp
        .ip("persistence_granularity")?
        .set()
        .map(|a| a.to_string());
    Ok(SpInput::Set {
        kind,
        cookie_name,
        persistence_timeout,
        persistence_granularity,
    })
}

/// Resolve the sent value against the stored one and check it for a pool of `protocol`.
pub fn resolve_sp(
    sent: SpInput,
    current: Option<&SessionPersistence>,
    protocol: &str,
) -> ApiResult<Option<SessionPersistence>> {
    let (kind, cookie_name, persistence_timeout, persistence_granularity) = match sent {
        SpInput::Absent => return Ok(current.cloned()),
        SpInput::Remove => return Ok(None),
        SpInput::Set {
            kind,
            cookie_name,
            persistence_timeout,
            persistence_granularity,
        } => (
            kind,
            cookie_name,
            persistence_timeout,
            persistence_granularity,
        ),
    };
    let kind = kind
        .or_else(|| current.map(|c| c.kind.clone()))
        .ok_or_else(|| invalid("type", "None", "Mandatory field missing."))?;
    let l4 = matches!(protocol, "UDP" | "SCTP");
    if l4 {
        if kind == "SOURCE_IP" && cookie_name.is_some() {
            return Err(ApiError::validation(
                "session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: \
                 type, persistence_timeout, persistence_granularity.",
            ));
        }
        if cookie_name.is_some() {
            return Err(ApiError::validation(
                "Cookie names are not supported for UDP/SCTP pools.",
            ));
        }
        if kind != "SOURCE_IP" {
            return Err(ApiError::validation(format!(
                "Session persistence of type {kind} is not supported for UDP/SCTP protocol pools."
            )));
        }
    } else if persistence_timeout.is_some_and(|t| t != 0) || persistence_granularity.is_some() {
        return Err(ApiError::validation(
            "persistence_timeout and persistence_granularity is only for UDP and SCTP protocol \
             pools.",
        ));
    }
    if let Some(c) = cookie_name.as_deref().filter(|c| !c.is_empty()) {
        if kind != "APP_COOKIE" {
            return Err(ApiError::validation(
                "Field \"cookie_name\" can only be specified with session persistence of type \
                 \"APP_COOKIE\".",
            ));
        }
        if BAD_COOKIE.is_match(c) {
            return Err(ApiError::validation("Supplied \"cookie_name\" is invalid."));
        }
    }
    if kind == "APP_COOKIE" && cookie_name.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::validation(
            "Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session \
             persistence type.",
        ));
    }
    Ok(Some(SessionPersistence {
        kind,
        cookie_name,
        persistence_timeout,
        persistence_granularity,
    }))
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The TLS fields as sent; `Field::Absent` when not sent.
pub struct TlsInput {
    pub tls_enabled: Field<bool>,
    pub tls_container_ref: Field<String>,
    pub ca_tls_container_ref: Field<String>,
    pub crl_container_ref: Field<String>,
    pub tls_ciphers: Field<String>,
    pub tls_versions: Field<Vec<String>>,
    pub alpn_protocols: Field<Vec<String>>,
}

/// Read the TLS fields (WSME-level checks only).
pub fn read_tls(i: &mut Input) -> ApiResult<TlsInput> {
    let alpn_protocols = i.strings("alpn_protocols", usize::MAX)?;
    if let Field::Set(list) = &alpn_protocols
        && let Some(bad) = list.iter().find(|p| !lm::ALPN.contains(&p.as_str()))
    {
        return Err(invalid(
            "alpn_protocols",
            bad,
            "Value should be a valid ALPN protocol ID",
        ));
    }
    Ok(TlsInput {
        tls_enabled: i.bool("tls_enabled")?,
        tls_container_ref: i.string("tls_container_ref", 255)?,
        ca_tls_container_ref: i.string("ca_tls_container_ref", 255)?,
        crl_container_ref: i.string("crl_container_ref", 255)?,
        tls_ciphers: i.string("tls_ciphers", 2048)?,
        tls_versions: i.strings("tls_versions", 32)?,
        alpn_protocols,
    })
}

fn check_versions(v: &[String]) -> ApiResult<()> {
    if v.is_empty() {
        return Err(ApiError::validation(
            "Empty TLS version list. Either specify at least one TLS version or remove this \
             parameter to use the default.",
        ));
    }
    let bad: Vec<&str> = v
        .iter()
        .map(String::as_str)
        .filter(|x| !lm::TLS_VERSIONS.contains(x))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Invalid TLS versions: {}",
            bad.join(", ")
        )))
    }
}

fn check_alpn(v: &[String]) -> ApiResult<()> {
    if v.is_empty() {
        return Err(ApiError::validation(
            "Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this \
             parameter to use the default.",
        ));
    }
    Ok(())
}

fn check_ciphers(c: &str) -> ApiResult<()> {
    if CIPHERS.is_match(c) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "Invalid characters in cipher string. Only alphanumeric, -, +, !, :, @, =, _, and . \
             are allowed.",
        ))
    }
}

fn opt(f: Field<String>, slot: &mut Option<String>) {
    match f {
        Field::Set(v) => *slot = Some(v),
        Field::Null => *slot = None,
        Field::Absent => {}
    }
}

/// Apply the TLS fields of a create: defaults for a TLS-enabled pool, then the list checks.
pub fn apply_tls_post(t: TlsInput, p: &mut Pool) -> ApiResult<()> {
    if matches!(t.crl_container_ref, Field::Set(_))
        && !matches!(t.ca_tls_container_ref, Field::Set(_))
    {
        return Err(ApiError::validation(
            "A CA certificate reference is required to specify a revocation list.",
        ));
    }
    p.tls_enabled = t.tls_enabled.or(false);
    p.tls_container_ref = t.tls_container_ref.set();
    p.ca_tls_container_ref = t.ca_tls_container_ref.set();
    p.crl_container_ref = t.crl_container_ref.set();
    p.tls_ciphers = t.tls_ciphers.set();
    p.tls_versions = t.tls_versions.set();
    p.alpn_protocols = t.alpn_protocols.set();
    if let Some(c) = &p.tls_ciphers {
        check_ciphers(c)?;
    }
    if p.tls_enabled {
        p.tls_ciphers
            .get_or_insert_with(|| lm::DEFAULT_CIPHERS.to_owned());
        let versions = p
            .tls_versions
            .get_or_insert_with(|| owned(&lm::DEFAULT_TLS_VERSIONS));
        check_versions(versions)?;
        let alpn = p.alpn_protocols.get_or_insert_with(|| owned(&DEFAULT_ALPN));
        check_alpn(alpn)?;
    }
    Ok(())
}

/// Apply the TLS fields of an update (`null` ciphers/versions reset to the defaults).
pub fn apply_tls_put(t: TlsInput, p: &mut Pool) -> ApiResult<()> {
    let crl = match &t.crl_container_ref {
        Field::Set(c) => Some(c.clone()),
        Field::Absent => p.crl_container_ref.clone(),
        Field::Null => None,
    };
    let db_ca = p.ca_tls_container_ref.is_some();
    match &t.ca_tls_container_ref {
        Field::Null if db_ca && crl.is_some() => {
            return Err(ApiError::validation(
                "A CA reference cannot be removed when a certificate revocation list is present.",
            ));
        }
        Field::Null if crl.is_some() => {
            return Err(ApiError::validation(
                "A CA reference is required to specify a certificate revocation list.",
            ));
        }
        Field::Absent if !db_ca && crl.is_some() => {
            return Err(ApiError::validation(
                "A CA reference is required to specify a certificate revocation list.",
            ));
        }
        _ => {}
    }
    if let Some(enabled) = match t.tls_enabled {
        Field::Set(v) => Some(v),
        Field::Null => Some(false),
        Field::Absent => None,
    } {
        p.tls_enabled = enabled;
    }
    opt(t.tls_container_ref, &mut p.tls_container_ref);
    opt(t.ca_tls_container_ref, &mut p.ca_tls_container_ref);
    opt(t.crl_container_ref, &mut p.crl_container_ref);
    match t.tls_ciphers {
        Field::Set(c) => {
            check_ciphers(&c)?;
            p.tls_ciphers = Some(c);
        }
        Field::Null => p.tls_ciphers = Some(lm::DEFAULT_CIPHERS.to_owned()),
        Field::Absent => {}
    }
    match t.tls_versions {
        Field::Set(v) => {
            check_versions(&v)?;
            p.tls_versions = Some(v);
        }
        Field::Null => p.tls_versions = Some(owned(&lm::DEFAULT_TLS_VERSIONS)),
        Field::Absent => {}
    }
    match t.alpn_protocols {
        Field::Set(v) => {
            check_alpn(&v)?;
            p.alpn_protocols = Some(v);
        }
        Field::Null => p.alpn_protocols = None,
        Field::Absent => {}
    }
    Ok(())
}
