//! TERMINATED_HTTPS listeners' TLS settings as the controller pushes them: the certificates
//! themselves (PEM, resolved from their container references by the controller), never the
//! references. Checked when the state is validated: every certificate parses, every private
//! key matches its certificate, versions and ALPN protocols are known, so the agent never
//! takes a listener it cannot serve.

use rustls::{
    SupportedCipherSuite,
    crypto::ring::{cipher_suite as suite, sign::any_supported_type},
    pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, pem::PemObject},
    sign::CertifiedKey,
};
use serde::{Deserialize, Serialize};

/// One certificate with its key: PEM, leaf first then intermediates in `certificate`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCertificate {
    /// The certificate chain, PEM: the leaf, then its intermediates.
    pub certificate: String,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1), unencrypted.
    pub private_key: String,
}

impl std::fmt::Debug for TlsCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("TlsCertificate").finish_non_exhaustive()
    }
}

/// A TERMINATED_HTTPS listener's TLS side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// `default_tls_container_ref`: served when the client names no SNI certificate.
    pub default_certificate: TlsCertificate,
    /// `sni_container_refs`: chosen by the name the client asks for (their DNS names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sni_certificates: Vec<TlsCertificate>,
    /// `tls_versions` (`TLSv1.2`, `TLSv1.3`); empty = both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_versions: Vec<String>,
    /// `alpn_protocols` (`h2`, `http/1.1`), in preference order; empty = both, h2 first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn_protocols: Vec<String>,
    /// `tls_ciphers`: an OpenSSL cipher list (`:`-separated names, see [`cipher_suites`]);
    /// `None` = every suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ciphers: Option<String>,
    /// `client_authentication`: whether clients must present a certificate.
    #[serde(default)]
    pub client_authentication: ClientAuthentication,
    /// `client_ca_tls_container_ref`: the CA certificates client certificates must chain
    /// to, PEM; required unless `client_authentication` is `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<String>,
    /// `client_crl_container_ref`: revoked client certificates, PEM CRLs of those CAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_crl: Option<String>,
}

/// Octavia's `client_authentication` (HAProxy's `verify none|optional|required`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClientAuthentication {
    /// No certificate is asked for.
    #[default]
    None,
    /// A certificate is asked for; one that is presented must verify.
    Optional,
    /// A certificate that verifies is required.
    Mandatory,
}

/// An HTTP pool's TLS to its members (`tls_enabled`, re-encryption): the members' CA and
/// CRL, the certificate presented to them, versions and ciphers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolTls {
    /// `ca_tls_container_ref`: members' certificates must chain to these (PEM); `None`: not
    /// verified (HAProxy's `verify none`, which Octavia writes without a CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// `crl_container_ref`: revoked member certificates (PEM CRLs of that CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<String>,
    /// `tls_container_ref`: the certificate presented to members that ask for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<TlsCertificate>,
    /// `tls_versions` (`TLSv1.2`, `TLSv1.3`); empty = both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_versions: Vec<String>,
    /// `tls_ciphers`: an OpenSSL cipher list, as for listeners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ciphers: Option<String>,
}

impl PoolTls {
    /// Checks everything the agent will need.
    pub fn check(&self) -> Result<(), CertificateError> {
        if let Some(c) = &self.client_certificate {
            c.certified_key()?;
        }
        check_protocol(&self.tls_versions, self.tls_ciphers.as_deref())?;
        check_trust("members' CA", self.ca.as_deref(), self.crl.as_deref())
    }
}

/// TLS versions a listener may offer.
pub const TLS_VERSIONS: [&str; 2] = ["TLSv1.2", "TLSv1.3"];
/// ALPN protocols a listener may offer.
pub const ALPN_PROTOCOLS: [&str; 2] = ["h2", "http/1.1"];

/// Why a listener's TLS settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not PEM: {0}")]
    CertificatePem(String),
    #[error("no certificate in the PEM")]
    NoCertificate,
    #[error("the private key is not PEM: {0}")]
    KeyPem(String),
    #[error("unsupported private key: {0}")]
    Key(String),
    #[error("the private key does not match the certificate")]
    Mismatch,
    #[error("tls_versions entry {0:?} is not one of TLSv1.2, TLSv1.3")]
    Version(String),
    #[error("alpn_protocols entry {0:?} is not one of h2, http/1.1")]
    Alpn(String),
    #[error("tls_ciphers {0:?} names no cipher suite this load balancer supports for TLS 1.2")]
    Ciphers(String),
    #[error("client_authentication {0:?} needs a client CA")]
    NoClientCa(ClientAuthentication),
    #[error("the {0} is not PEM certificates: {1}")]
    Ca(&'static str, String),
    #[error("the {0} is not PEM CRLs: {1}")]
    Crl(&'static str, String),
}

/// The cipher suites by their OpenSSL names (TLS 1.3 ones by their IANA names, as OpenSSL's
/// `ciphersuites`): every suite rustls offers with ring.
fn named_suites() -> [(&'static str, SupportedCipherSuite); 9] {
    [
        ("TLS_AES_256_GCM_SHA384", suite::TLS13_AES_256_GCM_SHA384),
        ("TLS_AES_128_GCM_SHA256", suite::TLS13_AES_128_GCM_SHA256),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            suite::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
    ]
}

/// The suites a `tls_ciphers` list allows, in its order: the TLS 1.2 suites it names, and the
/// TLS 1.3 suites it names — all of them when it names none (HAProxy's `ciphers`, which
/// Octavia writes, never restricts TLS 1.3). Names rustls has no suite for (CBC and SHA-1
/// suites, static RSA, ...) and OpenSSL's operators (`!x`, `-x`, `+x`, `@STRENGTH`) are
/// skipped, as OpenSSL skips names it does not know. `None`: every suite.
#[must_use]
pub fn cipher_suites(list: Option<&str>) -> Vec<SupportedCipherSuite> {
    let all = named_suites();
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return all.iter().map(|(_, s)| *s).collect();
    };
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    for name in list.split([':', ',', ' ']).map(str::trim) {
        if let Some((_, s)) = all.iter().find(|(n, _)| *n == name)
            && !chosen.contains(s)
        {
            chosen.push(*s);
        }
    }
    let is13 = |s: &SupportedCipherSuite| s.version() == &rustls::version::TLS13;
    if !chosen.iter().any(is13) {
        chosen.extend(all.iter().map(|(_, s)| *s).filter(is13));
    }
    chosen
}

/// Known versions, and a cipher list that leaves TLS 1.2 (when enabled) a suite.
fn check_protocol(versions: &[String], ciphers: Option<&str>) -> Result<(), CertificateError> {
    if let Some(v) = versions
        .iter()
        .find(|v| !TLS_VERSIONS.contains(&v.as_str()))
    {
        return Err(CertificateError::Version(v.clone()));
    }
    let tls12 = versions.is_empty() || versions.iter().any(|v| v == "TLSv1.2");
    if let Some(list) = ciphers
        && tls12
        && !cipher_suites(Some(list))
            .iter()
            .any(|s| s.version() == &rustls::version::TLS12)
    {
        return Err(CertificateError::Ciphers(list.to_owned()));
    }
    Ok(())
}

/// A CA bundle and CRLs that parse (`which` names the CA in errors).
fn check_trust(
    which: &'static str,
    ca: Option<&str>,
    crl: Option<&str>,
) -> Result<(), CertificateError> {
    if let Some(ca) = ca {
        pem_certificates(ca).map_err(|e| CertificateError::Ca(which, e))?;
    }
    if let Some(crl) = crl {
        pem_crls(crl).map_err(|e| CertificateError::Crl(which, e))?;
    }
    Ok(())
}

/// Every certificate of a PEM bundle (at least one).
pub fn pem_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate".into());
    }
    Ok(certs)
}

/// Every CRL of a PEM bundle (at least one).
pub fn pem_crls(pem: &str) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let crls = CertificateRevocationListDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if crls.is_empty() {
        return Err("no CRL".into());
    }
    Ok(crls)
}

impl TlsCertificate {
    /// The chain and key, checked to belong together, ready for rustls.
    pub fn certified_key(&self) -> Result<CertifiedKey, CertificateError> {
        let chain = CertificateDer::pem_slice_iter(self.certificate.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertificateError::CertificatePem(e.to_string()))?;
        if chain.is_empty() {
            return Err(CertificateError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(self.private_key.as_bytes())
            .map_err(|e| CertificateError::KeyPem(e.to_string()))?;
        let signing = any_supported_type(&key).map_err(|e| CertificateError::Key(e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing);
        match certified.keys_match() {
            Ok(()) => Ok(certified),
            // A key type rustls cannot compare is taken as it is.
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(_) => Err(CertificateError::Mismatch),
        }
    }
}

impl ListenerTls {
    /// Checks everything the agent will need.
    pub fn check(&self) -> Result<(), CertificateError> {
        self.default_certificate.certified_key()?;
        for c in &self.sni_certificates {
            c.certified_key()?;
        }
        if let Some(a) = self
            .alpn_protocols
            .iter()
            .find(|a| !ALPN_PROTOCOLS.contains(&a.as_str()))
        {
            return Err(CertificateError::Alpn(a.clone()));
        }
        check_protocol(&self.tls_versions, self.tls_ciphers.as_deref())?;
        if self.client_ca.is_none() && self.client_authentication != ClientAuthentication::None {
            return Err(CertificateError::NoClientCa(self.client_authentication));
        }
        check_trust(
            "client CA",
            self.client_ca.as_deref(),
            self.client_crl.as_deref(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn tls(certificate: String, private_key: String) -> ListenerTls {
        ListenerTls {
            default_certificate: TlsCertificate {
                certificate,
                private_key,
            },
            sni_certificates: Vec::new(),
            tls_versions: Vec::new(),
            alpn_protocols: Vec::new(),
            tls_ciphers: None,
            client_authentication: ClientAuthentication::None,
            client_ca: None,
            client_crl: None,
        }
    }

    #[test]
    fn a_matching_certificate_and_key_pass_and_every_fault_is_named() {
        let (c, k) = cert("www.example.com");
        let (other_c, other_k) = cert("other.example.com");
        assert!(tls(c.clone(), k.clone()).check().is_ok());
        let cases: [(ListenerTls, &str); 9] = [
            (
                ListenerTls {
                    tls_ciphers: Some("AES128-SHA:!aNULL".into()),
                    ..tls(c.clone(), k.clone())
                },
                "names no cipher suite",
            ),
            (
                ListenerTls {
                    client_authentication: ClientAuthentication::Mandatory,
                    ..tls(c.clone(), k.clone())
                },
                "needs a client CA",
            ),
            (
                ListenerTls {
                    client_authentication: ClientAuthentication::Optional,
                    client_ca: Some(k.clone()),
                    ..tls(c.clone(), k.clone())
                },
                "client CA",
            ),
            (tls(c.clone(), other_k), "does not match"),
            (tls(String::new(), k.clone()), "no certificate"),
            (tls(other_c, "not a key".into()), "private key is not PEM"),
            (
                ListenerTls {
                    tls_versions: vec!["TLSv1.1".into()],
                    ..tls(c.clone(), k.clone())
                },
                "TLSv1.1",
            ),
            (
                ListenerTls {
                    alpn_protocols: vec!["spdy/3".into()],
                    ..tls(c.clone(), k.clone())
                },
                "spdy/3",
            ),
            (
                ListenerTls {
                    sni_certificates: vec![TlsCertificate {
                        certificate:
                            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                        private_key: k.clone(),
                    }],
                    ..tls(c.clone(), k.clone())
                },
                "certificate",
            ),
        ];
        for (t, want) in cases {
            let e = t.check().expect_err(want).to_string();
            assert!(e.contains(want), "{e:?} does not say {want:?}");
        }
    }

    #[test]
    fn a_cipher_list_picks_its_tls12_suites_and_keeps_tls13_unless_it_names_some() {
        let names = |list: Option<&str>| -> Vec<String> {
            cipher_suites(list)
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect()
        };
        assert_eq!(names(None).len(), 9);
        assert_eq!(
            names(Some(
                "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:!MD5:ECDHE-ECDSA-AES256-GCM-SHA384"
            )),
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_CHACHA20_POLY1305_SHA256"
            ]
        );
        assert_eq!(
            names(Some("TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256")),
            [
                "TLS13_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
    }

    #[test]
    fn the_private_key_never_shows_in_debug_output() {
        let (c, k) = cert("www.example.com");
        let shown = format!("{:?}", tls(c, k.clone()));
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
}
