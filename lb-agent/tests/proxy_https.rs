//! TERMINATED_HTTPS listeners end to end: the proxy terminates TLS on the VIP with the
//! certificates of the pushed state (a default one and SNI ones, chosen by the name the
//! client asks for), serves HTTP/1.1 and HTTP/2 (ALPN) over it, tells the member
//! `X-Forwarded-Proto: https`, and honours `tls_versions` (`lb-agent run --state` in the lb
//! namespace, echo members, curl with the test CA as client).

mod proxy_support;

use lb_testkit::{LbTopology, require_root, topology::VIP_V4};
use proxy_support::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

/// A test CA and certificates it signs.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = params.clone().self_signed(&key).expect("CA").pem();
        Self { params, key, pem }
    }

    /// `{"certificate", "private_key"}` for `names` (DNS subject alternative names).
    fn leaf(&self, names: &[&str]) -> Value {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("sign");
        json!({"certificate": cert.pem(), "private_key": key.serialize_pem()})
    }
}

#[test]
fn terminated_https_serves_the_sni_certificate_http2_and_tells_the_member() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let ca = Ca::new();
    let ca_file = std::env::temp_dir().join(format!("lbt-{}-ca.pem", std::process::id()));
    std::fs::write(&ca_file, &ca.pem).expect("write CA");
    let ca_arg = ca_file.to_string_lossy().into_owned();
    let listener = json!({"id": "tls", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
        "default_pool_id": "p", "insert_headers": {"X-Forwarded-Proto": "true"},
        "tls": {
            "default_certificate": ca.leaf(&["www.example.com"]),
            "sni_certificates": [ca.leaf(&["api.example.com"]), ca.leaf(&["*.apps.example.com"])],
            "tls_versions": ["TLSv1.3"]}});
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 80)]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    // curl checks the certificate against the test CA for the name it asks for: a wrong
    // certificate fails the request.
    let https = |name: &str, extra: &[&str]| -> String {
        let resolve = format!("{name}:443:{VIP_V4}");
        let url = format!("https://{name}/");
        let mut args = vec!["--cacert", ca_arg.as_str(), "--resolve", resolve.as_str()];
        args.extend_from_slice(extra);
        args.push(url.as_str());
        curl(&topo, &args)
    };
    eventually("the TLS listener answers", || {
        https("www.example.com", &[]).starts_with("you hit: webserver1")
    });
    let answer = https("api.example.com", &[]);
    assert!(
        answer.starts_with("you hit: webserver1"),
        "SNI certificate: {answer:?}"
    );
    assert!(
        answer.contains("x-forwarded-proto: https"),
        "the member learns the client spoke https: {answer}"
    );
    assert!(
        https("shop.apps.example.com", &[]).starts_with("you hit"),
        "a wildcard SNI certificate"
    );
    // A name no SNI certificate serves gets the default one, which does not name it: curl
    // refuses it, and accepts it when told not to check the name.
    assert_eq!(
        https("other.example.com", &[]),
        "",
        "the default certificate"
    );
    let other = https("other.example.com", &["--insecure"]);
    assert!(other.starts_with("you hit"), "{other:?}");
    // HTTP/2 by ALPN.
    let version = https(
        "www.example.com",
        &["--http2", "-o", "/dev/null", "-w", "%{http_version}"],
    );
    assert_eq!(version, "2");
    // tls_versions [TLSv1.3]: a client capped at TLS 1.2 is refused.
    let code = https(
        "www.example.com",
        &["--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}"],
    );
    assert_eq!(code, "000", "a TLS 1.2 client got through");
    std::fs::remove_file(&ca_file).expect("remove CA file");
}
