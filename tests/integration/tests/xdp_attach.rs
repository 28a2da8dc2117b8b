//! The agent's loader attaches the XDP program to a veth inside a namespace; real TCP, UDP and
//! raw traffic crosses it from another namespace and is counted in the maps the test reads.
//!
//! Topology: `client` ns (eth0 198.18.0.1, fd00:18::1) <—veth—> `lb` ns (eth0 198.18.0.2,
//! fd00:18::2, XDP attached). Only these addresses receive traffic.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    time::{Duration, Instant},
};

use lb_agent::dataplane::{AttachMode, Dataplane};
use lb_common::{drop::DropReason, stats::PacketClass};
use lb_testkit::{Netns, packet, raw, require_root};

const CONNECTIONS: usize = 10;
const PAYLOAD: usize = 4000;
const DATAGRAMS: usize = 20;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

struct Pair {
    client: Netns,
    lb: Netns,
}

fn pair() -> Pair {
    let client = Netns::new("client");
    let lb = Netns::new("lb");
    client.veth("eth0", &lb, "eth0");
    client.addr("eth0", "198.18.0.1/24");
    lb.addr("eth0", "198.18.0.2/24");
    client.addr("eth0", "fd00:18::1/64");
    lb.addr("eth0", "fd00:18::2/64");
    Pair { client, lb }
}

fn attach(lb: &Netns, mode: AttachMode) -> (Dataplane, AttachMode) {
    lb.enter(|| {
        let mut dp = Dataplane::load().expect("load the data plane");
        let used = dp.attach("eth0", mode).expect("attach XDP to eth0");
        (dp, used)
    })
}

/// Echo server in the lb namespace for exactly `CONNECTIONS` connections, bounded in time.
fn echo_server(lb: &Netns) -> std::thread::JoinHandle<usize> {
    let listener = lb.enter(|| TcpListener::bind("198.18.0.2:7000").expect("bind echo server"));
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < CONNECTIONS && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).expect("blocking");
                    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
                    let mut buf = vec![0u8; PAYLOAD];
                    stream.read_exact(&mut buf).expect("read request");
                    stream.write_all(&buf).expect("echo");
                    served += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
        served
    })
}

#[test]
fn xdp_on_veth_counts_real_traffic_and_detaches_on_drop() {
    require_root!();
    let Pair { client, lb } = pair();
    let (dp, used) = attach(&lb, AttachMode::Native);
    assert_eq!(used, AttachMode::Native, "veth supports native XDP");
    let details = lb.link_details("eth0");
    assert!(
        details.contains("prog/xdp"),
        "XDP not visible on eth0:\n{details}"
    );
    let before = dp.counters().expect("counters");

    // TCP: CONNECTIONS echo round trips of PAYLOAD bytes.
    let server = echo_server(&lb);
    let addr: SocketAddr = "198.18.0.2:7000".parse().expect("addr");
    client.enter(|| {
        for i in 0..CONNECTIONS {
            let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
            let sent = vec![i as u8; PAYLOAD];
            s.write_all(&sent).expect("send");
            let mut back = vec![0u8; PAYLOAD];
            s.read_exact(&mut back).expect("echo back");
            assert_eq!(back, sent, "connection {i} echoed other bytes");
        }
    });
    assert_eq!(server.join().expect("server thread"), CONNECTIONS);

    // UDP over IPv6: DATAGRAMS datagrams, all received.
    let rx = lb.enter(|| UdpSocket::bind("[fd00:18::2]:7001").expect("bind udp"));
    rx.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    client.enter(|| {
        let tx = UdpSocket::bind("[fd00:18::1]:0").expect("bind udp client");
        for i in 0..DATAGRAMS {
            tx.send_to(&[i as u8; 100], "[fd00:18::2]:7001")
                .expect("send datagram");
        }
    });
    let mut buf = [0u8; 200];
    for i in 0..DATAGRAMS {
        let n = rx
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("datagram {i} lost: {e}"));
        assert_eq!(n, 100);
    }

    let after = dp.counters().expect("counters");
    let v4 = after.class(PacketClass::Ipv4).packets - before.class(PacketClass::Ipv4).packets;
    let v4_bytes = after.class(PacketClass::Ipv4).bytes - before.class(PacketClass::Ipv4).bytes;
    let v6 = after.class(PacketClass::Ipv6).packets - before.class(PacketClass::Ipv6).packets;
    // Each connection sends at least SYN, ACK, data and FIN towards the lb side.
    assert!(
        v4 >= (CONNECTIONS * 4) as u64,
        "only {v4} IPv4 packets counted"
    );
    assert!(
        v4_bytes >= (CONNECTIONS * PAYLOAD) as u64,
        "only {v4_bytes} IPv4 bytes counted"
    );
    assert!(v6 >= DATAGRAMS as u64, "only {v6} IPv6 packets counted");
    assert_eq!(
        after.total_dropped(),
        before.total_dropped(),
        "well-formed traffic was dropped"
    );

    // Malformed frames on the wire are dropped by XDP and counted by reason.
    let lb_mac = mac_of(&lb, "eth0");
    let mut bad = packet::ipv4_tcp([198, 18, 0, 1], [198, 18, 0, 2], 1, 7000, true, &[]);
    bad[..6].copy_from_slice(&lb_mac);
    bad[packet::ETH_HLEN] = 0x44; // IHL 4
    client.enter(|| raw::send_frames("eth0", &vec![bad.clone(); 3]).expect("send raw frames"));
    let dropped = wait_for(|| {
        let c = dp.counters().expect("counters");
        (c.dropped(DropReason::BadIpv4Header).packets >= 3).then_some(c)
    });
    assert_eq!(dropped.dropped(DropReason::BadIpv4Header).packets, 3);

    drop(dp);
    let details = lb.link_details("eth0");
    assert!(
        !details.contains("prog/xdp"),
        "XDP still attached after drop:\n{details}"
    );
}

#[test]
fn generic_mode_attaches_too() {
    require_root!();
    let Pair { client, lb } = pair();
    let (dp, used) = attach(&lb, AttachMode::Generic);
    assert_eq!(used, AttachMode::Generic);
    assert!(lb.link_details("eth0").contains("xdpgeneric"));
    let rx = lb.enter(|| UdpSocket::bind("198.18.0.2:7002").expect("bind"));
    rx.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    client.enter(|| {
        let tx = UdpSocket::bind("198.18.0.1:0").expect("bind");
        tx.send_to(b"hello", "198.18.0.2:7002").expect("send");
    });
    let mut buf = [0u8; 16];
    assert_eq!(rx.recv(&mut buf).expect("datagram through generic XDP"), 5);
    assert!(
        dp.counters()
            .expect("counters")
            .class(PacketClass::Ipv4)
            .packets
            >= 1
    );
}

fn mac_of(ns: &Netns, iface: &str) -> [u8; 6] {
    let out = ns.ip(&["-brief", "link", "show", iface]);
    let mac = out
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("no MAC in {out:?}"));
    let mut bytes = [0u8; 6];
    for (b, part) in bytes.iter_mut().zip(mac.split(':')) {
        *b = u8::from_str_radix(part, 16).unwrap_or_else(|e| panic!("MAC {mac}: {e}"));
    }
    bytes
}

/// Polls `check` every 10 ms for at most 5 s.
fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}
