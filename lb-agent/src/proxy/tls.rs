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
    CertificateError, ClientAuthentication, ListenerTls, PoolTls, pem_certificates, pem_crls,
};
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime},
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
    #[error("CA or CRL: {0}")]
    Trust(String),
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

/// ring with the cipher suites of a `tls_ciphers` list (all of them without one).
fn provider(ciphers: Option<&str>) -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: lb_proto::listener_tls::cipher_suites(ciphers),
        ..rustls::crypto::ring::default_provider()
    })
}

/// The trust store of a PEM CA bundle.
fn roots(ca: &str) -> Result<Arc<RootCertStore>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in pem_certificates(ca).map_err(TlsConfigError::Trust)? {
        roots.add(cert)?;
    }
    Ok(Arc::new(roots))
}

/// The CRLs of a PEM bundle, if there is one.
fn crls(
    pem: Option<&str>,
) -> Result<Option<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>>, TlsConfigError> {
    pem.map(|p| pem_crls(p).map_err(TlsConfigError::Trust))
        .transpose()
}

/// The TLS versions `names` (`TLSv1.2`, `TLSv1.3`) select; none = both.
fn protocol_versions(names: &[String]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    if names.is_empty() {
        return vec![&TLS12, &TLS13];
    }
    [("TLSv1.2", &TLS12), ("TLSv1.3", &TLS13)]
        .into_iter()
        .filter(|(name, _)| names.iter().any(|v| v == name))
        .map(|(_, v)| v)
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
    let versions = protocol_versions(&tls.tls_versions);
    let provider = provider(tls.tls_ciphers.as_deref());
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
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider);
    if let Some(crls) = crls(tls.client_crl.as_deref())? {
        builder = builder
            .with_crls(crls)
            .only_check_end_entity_revocation()
            // A certificate of a CA the CRLs do not cover is not "revoked".
            .allow_unknown_revocation_status();
    }
    if tls.client_authentication == ClientAuthentication::Optional {
        builder = builder.allow_unauthenticated();
    }
    Ok(Some(builder.build()?))
}

/// How member certificates are checked: against the pool's CA (and CRL) when it has one —
/// the chain only, not the name, as HAProxy's `verify required ca-file` without `verifyhost`
/// — or not at all (`verify none`). The handshake's signatures are always checked.
#[derive(Debug)]
pub struct MemberVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl MemberVerifier {
    /// Takes any certificate (still checking the handshake's signatures): `verify none`, and
    /// the HTTPS / TLS-HELLO health probes, which test that a member speaks TLS.
    #[must_use]
    pub fn unverified(provider: Arc<CryptoProvider>) -> Self {
        Self {
            chain: None,
            provider,
        }
    }
}

impl ServerCertVerifier for MemberVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The pool's certificate, for members that ask for one (`tls_container_ref`).
#[derive(Debug)]
struct OneClientCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for OneClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The rustls configuration of an HTTP pool re-encrypting to its members (HTTP/1.1 by ALPN).
pub fn client_config(tls: &PoolTls) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let provider = provider(tls.tls_ciphers.as_deref());
    let chain = match &tls.ca {
        None => None,
        Some(ca) => {
            let mut b = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider.clone());
            if let Some(crls) = crls(tls.crl.as_deref())? {
                b = b
                    .with_crls(crls)
                    .only_check_end_entity_revocation()
                    .allow_unknown_revocation_status();
            }
            Some(b.build()?)
        }
    };
    let versions = protocol_versions(&tls.tls_versions);
    let verifier = Arc::new(MemberVerifier {
        chain,
        provider: provider.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &tls.client_certificate {
        Some(c) => {
            let key = c.certified_key()?;
            builder.with_client_cert_resolver(Arc::new(OneClientCert(Arc::new(key))))
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
