//! The HTTPS figure's parts: a self-signed ECDSA P-256 certificate for the VIP's listener,
//! HAProxy's TERMINATED_HTTPS frontend (as Octavia writes one: `bind ... ssl crt`), and the
//! agent's TERMINATED_HTTPS listener with the same certificate. wrk speaks HTTP/1.1 over TLS
//! (keep-alive: one full handshake per connection, then requests).

use std::path::Path;

use anyhow::Context as _;
use lb_testkit::topology::VIP_V4;

/// The listener's certificate and key, PEM.
pub struct Cert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed certificate for `www.example.com` (wrk does not verify it).
pub fn cert() -> anyhow::Result<Cert> {
    let key = rcgen::KeyPair::generate().context("certificate key")?;
    let cert = rcgen::CertificateParams::new(vec!["www.example.com".to_owned()])
        .context("certificate parameters")?
        .self_signed(&key)
        .context("self-signing")?;
    Ok(Cert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The URL wrk asks for over TLS.
#[must_use]
pub fn url() -> String {
    format!("https://{VIP_V4}/")
}

/// HAProxy's frontend for the TLS listener; `pem` holds certificate and key.
#[must_use]
pub fn haproxy_frontend(pem: &Path) -> String {
    format!(
        "
frontend tls
    maxconn 4096
    bind {VIP_V4}:443 ssl crt {} alpn h2,http/1.1
    mode http
    default_backend p:web
    timeout client 50000
",
        pem.display()
    )
}

/// The agent's TERMINATED_HTTPS listener on VIP:443 to pool `p`.
#[must_use]
pub fn agent_listener(cert: &Cert) -> serde_json::Value {
    serde_json::json!({"id": "tls", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
        "default_pool_id": "p",
        "tls": {"default_certificate": {"certificate": cert.cert_pem,
            "private_key": cert.key_pem}}})
}
