//! Each monitor type against real servers on loopback that answer, answer wrongly, refuse and
//! hang past the timeout (PING in a namespace that ignores echo requests).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup is a failed test"
)]

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use lb_agent::health::probe::probe;
use lb_proto::{Monitor, MonitorType};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, UdpSocket},
};

fn monitor(kind: MonitorType, expected: &str) -> Monitor {
    Monitor {
        id: "hm".into(),
        kind,
        delay: 1,
        timeout: 1,
        max_retries: 1,
        max_retries_down: 1,
        admin_state_up: true,
        http_method: "GET".into(),
        url_path: "/health".into(),
        expected_codes: expected.into(),
        http_version: Some(1.1),
        domain_name: Some("example.test".into()),
    }
}

/// What a test server does with each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    Http(u16),
    Garbage,
    Hang,
}

async fn serve_plain(behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                respond(&mut s, behaviour).await;
            });
        }
    });
    addr
}

async fn respond<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(s: &mut S, b: Behaviour) {
    let mut buf = [0u8; 2048];
    match b {
        Behaviour::Http(code) => {
            let n = s.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            assert!(head.starts_with("GET /health HTTP/1.1\r\n"), "{head}");
            assert!(head.contains("Host: example.test\r\n"), "{head}");
            let _ = s
                .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
        }
        Behaviour::Garbage => {
            let _ = s.write_all(b"SSH-2.0-not-http\r\n").await;
        }
        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(10)).await,
    }
}

async fn serve_tls(behaviour: Behaviour) -> SocketAddr {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["member.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(s).await {
                    respond(&mut tls, behaviour).await;
                }
            });
        }
    });
    addr
}

async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

async fn check(kind: MonitorType, expected: &str, addr: SocketAddr) -> Result<(), String> {
    let started = Instant::now();
    let r = probe(&monitor(kind, expected), addr).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{kind:?} ignored its timeout"
    );
    r
}

#[tokio::test]
async fn http_matches_codes_and_fails_on_wrong_answers_refusals_and_hangs() {
    let ok = serve_plain(Behaviour::Http(200)).await;
    let err = serve_plain(Behaviour::Http(503)).await;
    assert_eq!(check(MonitorType::Http, "200", ok).await, Ok(()));
    assert_eq!(check(MonitorType::Http, "200-204,301", ok).await, Ok(()));
    let wrong = check(MonitorType::Http, "200", err).await.unwrap_err();
    assert!(wrong.contains("503"), "{wrong}");
    assert_eq!(check(MonitorType::Http, "500-503", err).await, Ok(()));
    assert!(
        check(
            MonitorType::Http,
            "200",
            serve_plain(Behaviour::Garbage).await
        )
        .await
        .is_err()
    );
    assert!(
        check(MonitorType::Http, "200", closed_port().await)
            .await
            .is_err()
    );
    let hang = check(MonitorType::Http, "200", serve_plain(Behaviour::Hang).await).await;
    assert!(hang.unwrap_err().contains("no answer"));
}

#[tokio::test]
async fn https_and_tls_hello_need_a_tls_member() {
    let tls_ok = serve_tls(Behaviour::Http(200)).await;
    let plain = serve_plain(Behaviour::Http(200)).await;
    assert_eq!(check(MonitorType::Https, "200", tls_ok).await, Ok(()));
    assert!(
        check(MonitorType::Https, "200", plain).await.is_err(),
        "plain HTTP is not HTTPS"
    );
    let tls_500 = serve_tls(Behaviour::Http(500)).await;
    assert!(check(MonitorType::Https, "200", tls_500).await.is_err());
    assert_eq!(check(MonitorType::TlsHello, "200", tls_ok).await, Ok(()));
    assert!(
        check(
            MonitorType::TlsHello,
            "200",
            serve_plain(Behaviour::Garbage).await
        )
        .await
        .is_err()
    );
    assert!(
        check(
            MonitorType::TlsHello,
            "200",
            serve_plain(Behaviour::Hang).await
        )
        .await
        .is_err()
    );
    assert!(
        check(MonitorType::TlsHello, "200", closed_port().await)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn tcp_and_udp_connect() {
    assert_eq!(
        check(MonitorType::Tcp, "200", serve_plain(Behaviour::Hang).await).await,
        Ok(())
    );
    assert!(
        check(MonitorType::Tcp, "200", closed_port().await)
            .await
            .is_err()
    );
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let open = udp.local_addr().unwrap();
    assert_eq!(check(MonitorType::UdpConnect, "200", open).await, Ok(()));
    let closed = {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.local_addr().unwrap()
    };
    let refused = check(MonitorType::UdpConnect, "200", closed)
        .await
        .unwrap_err();
    assert!(refused.contains("refused"), "{refused}");
    drop(udp);
}

#[test]
fn ping_gets_echo_replies_and_fails_without_them() {
    lb_testkit::require_root!();
    let ns = lb_testkit::Netns::new("ping");
    ns.up("lo");
    let run = |expect_ok: bool| {
        ns.enter(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let r = rt.block_on(check(
                MonitorType::Ping,
                "200",
                "127.0.0.1:0".parse().unwrap(),
            ));
            assert_eq!(r.is_ok(), expect_ok, "{r:?}");
        });
    };
    run(true);
    ns.sysctl("net.ipv4.icmp_echo_ignore_all", "1");
    run(false);
}

/// An SCTP peer on a raw socket (this kernel has no SCTP stack): answers INITs to `up` with an
/// INIT-ACK and to `abort` with an ABORT, ignores everything else; stops after 4 s.
fn sctp_peer(ns: &lb_testkit::Netns, up: u16, abort: u16) -> std::thread::JoinHandle<()> {
    use lb_agent::health::probe_sctp::{packet, sctp_part};
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = ns
        .enter(|| Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(132))))
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while Instant::now() < deadline {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            // SAFETY: recv_from initialised the first `n` bytes.
            let data: Vec<u8> = buf
                .iter()
                .take(n)
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let p = sctp_part(&data, true);
            if p.len() < 20 || p[12] != 1 {
                continue; // not an INIT (e.g. our own answers, looped back)
            }
            let sport = u16::from_be_bytes([p[0], p[1]]);
            let dport = u16::from_be_bytes([p[2], p[3]]);
            let their_tag = u32::from_be_bytes([p[16], p[17], p[18], p[19]]);
            let reply = if dport == up {
                let mut v = Vec::new();
                v.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                v.extend_from_slice(&65535u32.to_be_bytes());
                v.extend_from_slice(&[0, 1, 0, 1]);
                v.extend_from_slice(&7u32.to_be_bytes());
                packet(dport, sport, their_tag, 2, 0, &v)
            } else if dport == abort {
                packet(dport, sport, their_tag, 6, 0, &[])
            } else {
                continue;
            };
            let _ = socket.send_to(&reply, &from);
        }
    })
}

#[test]
fn sctp_needs_an_init_ack() {
    lb_testkit::require_root!();
    let ns = lb_testkit::Netns::new("sctp");
    ns.up("lo");
    let peer = sctp_peer(&ns, 3868, 3869);
    let run = |port: u16| {
        ns.enter(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(check(
                MonitorType::Sctp,
                "200",
                SocketAddr::from(([127, 0, 0, 1], port)),
            ))
        })
    };
    assert_eq!(run(3868), Ok(()));
    let abort = run(3869).unwrap_err();
    assert!(abort.contains("ABORT"), "{abort}");
    assert!(run(3870).is_err(), "silence must fail the check");
    peer.join().unwrap();
}
