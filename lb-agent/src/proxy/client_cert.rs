//! What a TERMINATED_HTTPS connection's client certificate tells the member, in the forms of
//! the HAProxy sample fetches Octavia's `insert_headers` use: `ssl_c_used` (a certificate was
//! presented), `ssl_c_verify` (0: it verified; the handshake fails otherwise), `ssl_c_s_dn`
//! and `ssl_c_i_dn` (OpenSSL's one-line form, `/C=US/O=Example/CN=client`), `ssl_c_s_dn(cn)`,
//! `ssl_c_sha1,hex` (upper-case hex of the DER's SHA-1), `ssl_c_notbefore`/`ssl_c_notafter`
//! (`YYMMDDhhmmssZ`). Worked out once per connection, after the handshake.

use sha1::{Digest as _, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// What the TLS handshake of one client connection established, for its requests.
#[derive(Debug, Default)]
pub struct TlsSession {
    /// The client's certificate (it verified: the handshake fails otherwise), if it sent one.
    pub client_cert: Option<ClientCert>,
    /// Its fields as quoted header values (HAProxy's `%{+Q}`), made once per connection:
    /// subject DN, subject CN, issuer DN, SHA-1, not-before, not-after.
    pub quoted: Option<[Option<http::HeaderValue>; 6]>,
}

impl TlsSession {
    /// The session of a connection whose client presented `client_cert` (or none).
    #[must_use]
    pub fn new(client_cert: Option<ClientCert>) -> Self {
        let quoted = client_cert.as_ref().map(|c| {
            [
                &c.subject_dn,
                &c.subject_cn,
                &c.issuer_dn,
                &c.sha1,
                &c.not_before,
                &c.not_after,
            ]
            .map(|v| http::HeaderValue::from_str(&format!("\"{v}\"")).ok())
        });
        Self {
            client_cert,
            quoted,
        }
    }

    /// The session as the `SSL_*` L7 rules see it: a certificate verified (0) if one came.
    #[must_use]
    pub fn for_rules(&self) -> super::rules::ClientTls<'_> {
        super::rules::ClientTls {
            has_cert: self.client_cert.is_some(),
            verify_result: Some(0),
            subject_dn: self
                .client_cert
                .as_ref()
                .map_or(&[], |c| c.subject_entries.as_slice()),
        }
    }
}

/// The client certificate of one connection, as header values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// The subject's `(short name, value)` entries in certificate order (`SSL_DN_FIELD`).
    pub subject_entries: Vec<(String, String)>,
    pub subject_dn: String,
    pub subject_cn: String,
    pub issuer_dn: String,
    pub sha1: String,
    pub not_before: String,
    pub not_after: String,
}

/// OpenSSL's short name of a name attribute (its dotted OID when it has none).
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "GN",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// A name's `(short name, value)` entries in the certificate's order.
fn entries(name: &X509Name<'_>) -> Vec<(String, String)> {
    name.iter_attributes()
        .map(|attr| {
            let oid = attr.attr_type().to_id_string();
            let key = short_name(&oid).map_or(oid.clone(), str::to_owned);
            (key, attr.as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// OpenSSL's one-line form of a name: `/SN=value` for each attribute, in order.
fn oneline(entries: &[(String, String)]) -> String {
    entries.iter().map(|(k, v)| format!("/{k}={v}")).collect()
}

/// `YYMMDDhhmmssZ`, as OpenSSL prints an ASN.1 UTCTime.
fn asn1_time(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        d.year().rem_euclid(100),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

impl ClientCert {
    /// The header values of the certificate `der`, or `None` if it does not parse (rustls
    /// verified it, so this does not happen with a verified one).
    #[must_use]
    pub fn of(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let sha1 = Sha1::digest(der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let subject_entries = entries(cert.subject());
        Some(Self {
            subject_dn: oneline(&subject_entries),
            subject_entries,
            subject_cn: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .unwrap_or_default()
                .to_owned(),
            issuer_dn: oneline(&entries(cert.issuer())),
            sha1,
            not_before: asn1_time(&cert.validity().not_before),
            not_after: asn1_time(&cert.validity().not_after),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_digest_and_dates_take_haproxys_forms() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "client CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CountryName, "US");
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        leaf.not_before = rcgen::date_time_ymd(2026, 1, 2);
        leaf.not_after = rcgen::date_time_ymd(2030, 12, 31);
        let cert = leaf
            .signed_by(&key, &rcgen::Issuer::from_params(&ca, &ca_key))
            .unwrap();
        let c = ClientCert::of(cert.der()).unwrap();
        // In the certificate's order of attributes (rcgen's, here).
        assert!(
            ["/C=US/CN=alice", "/CN=alice/C=US"].contains(&c.subject_dn.as_str()),
            "{}",
            c.subject_dn
        );
        assert_eq!(c.subject_cn, "alice");
        assert!(
            ["/O=Example/CN=client CA", "/CN=client CA/O=Example"].contains(&c.issuer_dn.as_str()),
            "{}",
            c.issuer_dn
        );
        assert_eq!(c.not_before, "260102000000Z");
        assert_eq!(c.not_after, "301231000000Z");
        assert_eq!(c.sha1.len(), 40);
        assert!(
            c.sha1
                .chars()
                .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase())
        );
        assert!(ClientCert::of(b"not a certificate").is_none());
    }
}
