//! The HTTPS figure's parts: a self-signed ECDSA P-256 certificate for the VIP's listener,
//! HAProxy's TERMINATED_HTTPS frontend (as Octavia writes one: `bind ... ssl crt`), and the
//! agent's TERMINATED_HTTPS listener with the same certificate. wrk speaks HTTP/1.1 over TLS
//! (keep-alive: one full handshake per connection, then requests).

use std::path::Path;

use anyhow::Context as _;
use lb_testkit::topology::VIP_V4;

/// Both listeners' certificates.
pub struct Certs {
    pub ecdsa: Cert,
    pub rsa: Cert,
}

impl Certs {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            ecdsa: cert()?,
            rsa: rsa_cert()?,
        })
    }

    /// The agent's two TERMINATED_HTTPS listeners.
    #[must_use]
    pub fn agent_listeners(&self) -> [serde_json::Value; 2] {
        [
            agent_listener("tls", 443, &self.ecdsa),
            agent_listener("tls-rsa", RSA_PORT, &self.rsa),
        ]
    }
}

/// The listener's certificate and key, PEM.
pub struct Cert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed ECDSA P-256 certificate for `www.example.com` (wrk does not verify it).
pub fn cert() -> anyhow::Result<Cert> {
    self_signed(rcgen::KeyPair::generate().context("certificate key")?)
}

/// The same with an RSA 2048 key, made by `openssl genpkey` (ring signs with RSA keys but
/// cannot make them).
pub fn rsa_cert() -> anyhow::Result<Cert> {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .context("running openssl genpkey (cargo xtask setup installs openssl)")?;
    anyhow::ensure!(
        out.status.success(),
        "openssl genpkey failed: {}",
        out.status
    );
    let pem = String::from_utf8(out.stdout).context("openssl's key")?;
    let key = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .context("the RSA key")?;
    self_signed(key)
}

fn self_signed(key: rcgen::KeyPair) -> anyhow::Result<Cert> {
    let cert = rcgen::CertificateParams::new(vec!["www.example.com".to_owned()])
        .context("certificate parameters")?
        .self_signed(&key)
        .context("self-signing")?;
    Ok(Cert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The URL wrk asks for over TLS (the ECDSA listener).
#[must_use]
pub fn url() -> String {
    format!("https://{VIP_V4}/")
}

/// Port of the RSA listener.
pub const RSA_PORT: u16 = 8443;

/// The URL of the RSA listener.
#[must_use]
pub fn rsa_url() -> String {
    format!("https://{VIP_V4}:{RSA_PORT}/")
}

/// HAProxy's frontends for the TLS listeners (ECDSA on 443, RSA on [`RSA_PORT`]); each PEM
/// holds certificate and key.
#[must_use]
pub fn haproxy_frontends(ecdsa: &Path, rsa: &Path) -> String {
    let frontend = |name: &str, port: u16, pem: &Path| {
        format!(
            "
frontend {name}
    maxconn 4096
    bind {VIP_V4}:{port} ssl crt {} alpn h2,http/1.1
    mode http
    default_backend p:web
    timeout client 50000
",
            pem.display()
        )
    };
    frontend("tls", 443, ecdsa) + &frontend("tls_rsa", RSA_PORT, rsa)
}

/// The agent's TERMINATED_HTTPS listener `id` on VIP:`port` to pool `p`.
#[must_use]
pub fn agent_listener(id: &str, port: u16, cert: &Cert) -> serde_json::Value {
    serde_json::json!({"id": id, "protocol": "TERMINATED_HTTPS", "protocol_port": port,
        "default_pool_id": "p",
        "tls": {"default_certificate": {"certificate": cert.cert_pem,
            "private_key": cert.key_pem}}})
}
