//! TLS termination of TERMINATED_HTTPS listeners (rustls, ring): the listener's settings from
//! the desired state (`lb_proto::listener_tls`, checked when the state was validated) become
//! one `ServerConfig` per configuration push, shared by the listener's connections. The
//! certificate is chosen by the name the client sends (SNI) among the SNI certificates' DNS
//! names (their subject alternative names, else their common name; `*.example.com` covers
//! one label), the default one otherwise, as HAProxy's `crt-list` that Octavia writes.
//! Client certificates, when `client_authentication` asks for them, must chain to the client
//! CA and not be revoked by its CRL (end-entity checks, as HAProxy's `ca-file` + `crl-file`).

use std::{collections::HashMap, sync::Arc};

use lb_proto::listener_tls::{
    CertificateError, ClientAuthentication, ListenerTls, pem_certificates, pem_crls,
};
use rustls::{
    RootCertStore, ServerConfig,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier, danger::ClientCertVerifier},
    sign::CertifiedKey,
    version::{TLS12, TLS13},
};

/// Why a listener's TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verification: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("client CA or CRL: {0}")]
    ClientCa(String),
}

/// Certificates by the names they serve.
#[derive(Debug)]
struct BySni {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.com` certificates under `example.com`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl BySni {
    fn choose(&self, name: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = name else {
            return self.default.clone();
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(c) = self.exact.get(&name) {
            return c.clone();
        }
        name.split_once('.')
            .and_then(|(_, parent)| self.wildcard.get(parent))
            .unwrap_or(&self.default)
            .clone()
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.choose(hello.server_name()))
    }
}

/// The DNS names a certificate serves: its subject alternative names, else its subject's
/// common name. An unparsable certificate serves none (rustls still checked it loads).
fn names(cert: &CertifiedKey) -> Vec<String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let Some(leaf) = cert.cert.first() else {
        return Vec::new();
    };
    let Ok((_, x509)) = X509Certificate::from_der(leaf.as_ref()) else {
        return Vec::new();
    };
    let sans: Vec<String> = x509
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !sans.is_empty() {
        return sans;
    }
    x509.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The rustls configuration of a TERMINATED_HTTPS listener.
pub fn server_config(tls: &ListenerTls) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let default = Arc::new(tls.default_certificate.certified_key()?);
    let mut by_sni = BySni {
        exact: HashMap::new(),
        wildcard: HashMap::new(),
        default,
    };
    // The first certificate naming a host wins, as the first matching line of a crt-list.
    for c in &tls.sni_certificates {
        let key = Arc::new(c.certified_key()?);
        for name in names(&key) {
            match name.strip_prefix("*.") {
                Some(parent) => by_sni.wildcard.entry(parent.to_owned()),
                None => by_sni.exact.entry(name),
            }
            .or_insert_with(|| key.clone());
        }
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = if tls.tls_versions.is_empty() {
        vec![&TLS12, &TLS13]
    } else {
        [("TLSv1.2", &TLS12), ("TLSv1.3", &TLS13)]
            .into_iter()
            .filter(|(name, _)| tls.tls_versions.iter().any(|v| v == name))
            .map(|(_, v)| v)
            .collect()
    };
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: lb_proto::listener_tls::cipher_suites(tls.tls_ciphers.as_deref()),
        ..rustls::crypto::ring::default_provider()
    });
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions)?;
    let builder = match client_verifier(tls, provider)? {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(by_sni));
    config.alpn_protocols = if tls.alpn_protocols.is_empty() {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        tls.alpn_protocols
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect()
    };
    Ok(Arc::new(config))
}

/// The verifier of client certificates, or `None` when the listener asks for none.
fn client_verifier(
    tls: &ListenerTls,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsConfigError> {
    let ca = match (tls.client_authentication, &tls.client_ca) {
        (ClientAuthentication::None, _) => return Ok(None),
        (mode, None) => return Err(CertificateError::NoClientCa(mode).into()),
        (_, Some(ca)) => ca,
    };
    let mut roots = RootCertStore::empty();
    for cert in pem_certificates(ca).map_err(TlsConfigError::ClientCa)? {
        roots.add(cert)?;
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    if let Some(crl) = &tls.client_crl {
        builder = builder
            .with_crls(pem_crls(crl).map_err(TlsConfigError::ClientCa)?)
            .only_check_end_entity_revocation()
            // A certificate of a CA the CRLs do not cover is not "revoked".
            .allow_unknown_revocation_status();
    }
    if tls.client_authentication == ClientAuthentication::Optional {
        builder = builder.allow_unauthenticated();
    }
    Ok(Some(builder.build()?))
}
