//! TERMINATED_HTTPS listeners end to end: the proxy terminates TLS on the VIP with the
//! certificates of the pushed state (a default one and SNI ones, chosen by the name the
//! client asks for), serves HTTP/1.1 and HTTP/2 (ALPN) over it, tells the member
//! `X-Forwarded-Proto: https`, and honours `tls_versions`; client authentication against a
//! client CA and its CRL, with the `X-SSL-*` headers (`lb-agent run --state` in the lb
//! namespace, echo members, curl with the test CA and client certificates as client); HTTP
//! pools re-encrypting to an HTTPS member, verified against the pool's CA.

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
        Self::named("test CA")
    }

    fn named(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let pem = params.clone().self_signed(&key).expect("CA").pem();
        Self { params, key, pem }
    }

    /// A client certificate for `cn` with `serial`: (certificate PEM, key PEM).
    fn client(&self, cn: &str, serial: u64) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("sign");
        (cert.pem(), key.serialize_pem())
    }

    /// A CRL revoking `serials`.
    fn crl(&self, serials: &[u64]) -> String {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2025, 1, 1),
            next_update: rcgen::date_time_ymd(2045, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|&s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(s),
                    revocation_time: rcgen::date_time_ymd(2025, 6, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params
            .signed_by(&Issuer::from_params(&self.params, &self.key))
            .expect("CRL")
            .pem()
            .expect("CRL PEM")
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

/// Files for curl, removed on drop.
struct Files(Vec<std::path::PathBuf>);

impl Files {
    fn write(&mut self, name: &str, text: &str) -> String {
        let path = std::env::temp_dir().join(format!("lbt-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write");
        self.0.push(path.clone());
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[test]
fn client_certificates_are_required_checked_against_ca_and_crl_and_named_to_the_member() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let (server_ca, client_ca, stranger_ca) =
        (Ca::new(), Ca::named("client CA"), Ca::named("other CA"));
    let mut files = Files(Vec::new());
    let ca_arg = files.write("auth-ca.pem", &server_ca.pem);
    let mut client = |name: &str, (cert, key): (String, String)| -> (String, String) {
        (
            files.write(&format!("{name}.pem"), &cert),
            files.write(&format!("{name}-key.pem"), &key),
        )
    };
    let alice = client("alice", client_ca.client("alice", 1001));
    let revoked = client("mallory", client_ca.client("mallory", 1002));
    let bob = client("bob", client_ca.client("bob", 1003));
    let stranger = client("stranger", stranger_ca.client("stranger", 1001));
    let listener = |mode: &str| {
        json!({"id": "tls", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
            "default_pool_id": "p",
            // SSL_DN_FIELD: bob's certificate verifies, but a policy turns him away.
            "l7policies": [{"id": "no-bob", "position": 1, "action": "REJECT",
                "rules": [{"id": "cn", "type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO",
                    "key": "CN", "value": "bob"}]}],
            "insert_headers": {"X-SSL-Client-Verify": "true", "X-SSL-Client-Has-Cert": "true",
                "X-SSL-Client-CN": "true", "X-SSL-Client-DN": "true", "X-SSL-Issuer": "true"},
            "tls": {
                "default_certificate": server_ca.leaf(&["www.example.com"]),
                "client_authentication": mode,
                "client_ca": client_ca.pem,
                "client_crl": client_ca.crl(&[1002])}})
    };
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 80)]}]);
    let mut agent = Agent::start(&topo, &state(listener("MANDATORY"), pools.clone()));
    let https = |cert: Option<&(String, String)>| -> String {
        let resolve = format!("www.example.com:443:{VIP_V4}");
        let mut args = vec!["--cacert", ca_arg.as_str(), "--resolve", resolve.as_str()];
        if let Some((c, k)) = cert {
            args.extend_from_slice(&["--cert", c.as_str(), "--key", k.as_str()]);
        }
        args.push("https://www.example.com/");
        curl(&topo, &args)
    };
    eventually("a client with a good certificate is served", || {
        https(Some(&alice)).starts_with("you hit")
    });
    let answer = https(Some(&alice));
    for header in [
        "x-ssl-client-verify: 0",
        "x-ssl-client-has-cert: 1",
        "x-ssl-client-cn: \"alice\"",
        "x-ssl-client-dn: \"/CN=alice\"",
        "x-ssl-issuer: \"/CN=client CA\"",
    ] {
        assert!(answer.contains(header), "{header} missing from {answer}");
    }
    let code = |cert: &(String, String)| {
        let resolve = format!("www.example.com:443:{VIP_V4}");
        let args = [
            "--cacert",
            ca_arg.as_str(),
            "--resolve",
            resolve.as_str(),
            "--cert",
            cert.0.as_str(),
            "--key",
            cert.1.as_str(),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "https://www.example.com/",
        ];
        curl(&topo, &args)
    };
    assert_eq!(code(&bob), "403", "an SSL_DN_FIELD rule rejects bob");
    assert_eq!(https(None), "", "MANDATORY: no certificate, no request");
    assert_eq!(https(Some(&stranger)), "", "a certificate of another CA");
    assert_eq!(https(Some(&revoked)), "", "a certificate the CRL revokes");
    // OPTIONAL: no certificate is fine (and said so), a bad one is still refused.
    agent.reload(&state(listener("OPTIONAL"), pools));
    eventually("OPTIONAL takes clients without a certificate", || {
        https(None).starts_with("you hit")
    });
    let anonymous = https(None);
    assert!(
        anonymous.contains("x-ssl-client-has-cert: 0"),
        "{anonymous}"
    );
    assert!(!anonymous.contains("x-ssl-client-cn"), "{anonymous}");
    assert_eq!(
        https(Some(&revoked)),
        "",
        "OPTIONAL still checks a certificate that comes"
    );
}

#[test]
fn tls_ciphers_restricts_the_tls12_suites() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let ca = Ca::new();
    let mut files = Files(Vec::new());
    let ca_arg = files.write("ciphers-ca.pem", &ca.pem);
    // rcgen's keys are ECDSA P-256: the ECDHE-ECDSA suites apply.
    let listener = json!({"id": "tls", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
        "default_pool_id": "p",
        "tls": {"default_certificate": ca.leaf(&["www.example.com"]),
            "tls_ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"}});
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 80)]}]);
    let _agent = Agent::start(&topo, &state(listener, pools));
    let tls12 = |cipher: &str| -> String {
        let resolve = format!("www.example.com:443:{VIP_V4}");
        let args = [
            "--cacert",
            ca_arg.as_str(),
            "--resolve",
            resolve.as_str(),
            "--tls-max",
            "1.2",
            "--ciphers",
            cipher,
            "https://www.example.com/",
        ];
        curl(&topo, &args)
    };
    eventually("a listed TLS 1.2 suite is served", || {
        tls12("ECDHE-ECDSA-AES256-GCM-SHA384").starts_with("you hit")
    });
    assert_eq!(
        tls12("ECDHE-ECDSA-AES128-GCM-SHA256"),
        "",
        "an unlisted suite"
    );
    // TLS 1.3 keeps its suites (the list names none).
    let resolve = format!("www.example.com:443:{VIP_V4}");
    let tls13 = curl(
        &topo,
        &[
            "--cacert",
            ca_arg.as_str(),
            "--resolve",
            resolve.as_str(),
            "--tlsv1.3",
            "https://www.example.com/",
        ],
    );
    assert!(tls13.starts_with("you hit"), "{tls13:?}");
}

/// An HTTPS member at `addr` in `ns` with the certificate `cert` (its PEM and key), answering
/// `tls member` to every request over HTTP/1.1; serves until the test process ends.
fn tls_member(ns: &lb_testkit::Netns, addr: std::net::SocketAddr, cert: &Value) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(
        cert["certificate"]
            .as_str()
            .expect("certificate PEM")
            .as_bytes(),
    )
    .collect::<Result<_, _>>()
    .expect("member chain");
    let key =
        PrivateKeyDer::from_pem_slice(cert["private_key"].as_str().expect("key PEM").as_bytes())
            .expect("member key");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("member TLS");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = ns
        .enter(|| std::net::TcpListener::bind(addr))
        .expect("bind member");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"tls member\n")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
}

#[test]
fn http_pools_with_tls_re_encrypt_to_members_and_check_them_against_the_pool_ca() {
    require_root!();
    let topo = LbTopology::new(1);
    let (member_ca, other_ca) = (Ca::named("member CA"), Ca::named("other CA"));
    let addr: std::net::SocketAddr = format!("{}:8443", lb_testkit::topology::member_v4(0))
        .parse()
        .expect("addr");
    tls_member(
        &topo.members[0],
        addr,
        &member_ca.leaf(&["member.internal"]),
    );
    let listener = json!({"id": "web", "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": "p"});
    let pools = |tls: Value| {
        json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member(0, 8443)], "tls": tls}])
    };
    let status = || get(&topo, "/", &["-o", "/dev/null", "-w", "%{http_code}"]);
    // No CA: encrypted, not verified (HAProxy's `verify none`).
    let mut agent = Agent::start(&topo, &state(listener.clone(), pools(json!({}))));
    eventually("the member is reached over TLS", || {
        get(&topo, "/", &[]) == "tls member\n"
    });
    // The member's CA: verified (its certificate names another host: names are not checked).
    agent.reload(&state(
        listener.clone(),
        pools(json!({"ca": member_ca.pem})),
    ));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        get(&topo, "/", &[]),
        "tls member\n",
        "verified against its CA"
    );
    // Another CA: the member is refused (502), even though idle connections to it exist.
    agent.reload(&state(listener.clone(), pools(json!({"ca": other_ca.pem}))));
    eventually("a member of another CA is refused", || status() == "502");
    // The member's CA again: served.
    agent.reload(&state(listener, pools(json!({"ca": member_ca.pem}))));
    eventually("the right CA again", || status() == "200");
}

/// One keep-alive HTTP/1.1 exchange on a TLS stream: the response's body.
fn exchange(tls: &mut (impl std::io::Read + std::io::Write)) -> String {
    tls.write_all(b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
        .expect("write request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            tls.read(&mut byte).expect("read head"),
            1,
            "connection closed"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    let mut body = vec![0u8; len];
    tls.read_exact(&mut body).expect("read body");
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn a_new_certificate_applies_to_new_connections_and_open_ones_carry_on() {
    require_root!();
    let topo = LbTopology::new(1);
    let _web = echo_servers(&topo, 80);
    let (old_ca, new_ca) = (Ca::named("old CA"), Ca::named("new CA"));
    let listener = |ca: &Ca| {
        json!({"id": "tls", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
            "default_pool_id": "p",
            "tls": {"default_certificate": ca.leaf(&["www.example.com"])}})
    };
    let pools = json!([{"id": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [member(0, 80)]}]);
    let mut agent = Agent::start(&topo, &state(listener(&old_ca), pools.clone()));
    let vip: std::net::SocketAddr = format!("{VIP_V4}:443").parse().expect("vip");
    // A blocking rustls client trusting `ca` only.
    let connect = |ca: &Ca| -> Option<
        rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>,
    > {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
            roots.add(c.expect("CA PEM")).expect("root");
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("www.example.com").expect("name");
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).ok()?;
        let tcp = topo
            .client
            .enter(|| std::net::TcpStream::connect_timeout(&vip, std::time::Duration::from_secs(2)))
            .ok()?;
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok()?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        // Drive the handshake now: a certificate the client does not trust fails here.
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).ok()?;
        }
        Some(s)
    };
    use rustls::pki_types::pem::PemObject as _;
    let mut open = None;
    eventually("the old certificate is served", || {
        open = connect(&old_ca);
        open.is_some()
    });
    let mut open = open.expect("connected");
    assert!(exchange(&mut open).starts_with("you hit"));
    // The certificate is replaced (another container ref on the listener).
    agent.reload(&state(listener(&new_ca), pools));
    eventually("new connections get the new certificate", || {
        connect(&new_ca).is_some()
    });
    assert!(
        connect(&old_ca).is_none(),
        "the old certificate is still served"
    );
    // The connection opened before keeps its session and is still served.
    assert!(
        exchange(&mut open).starts_with("you hit"),
        "the open connection was dropped"
    );
    let mut fresh = connect(&new_ca).expect("connect with the new certificate");
    assert!(exchange(&mut fresh).starts_with("you hit"));
}
