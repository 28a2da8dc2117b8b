//! `lb_steer`, the sk_lookup steering the benchmark measures against sockets bound to each
//! VIP: connections to a listed VIP:port reach the one socket, whatever it is bound to;
//! unlisted ones and everything after detaching go to the kernel's own lookup.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    time::Duration,
};

use lb_agent::dataplane::Dataplane;
use lb_testkit::{Netns, require_root};

fn connects(ns: &Netns, to: SocketAddr) -> bool {
    ns.enter(|| TcpStream::connect_timeout(&to, Duration::from_secs(1)).is_ok())
}

#[test]
fn listed_vips_reach_the_one_socket_until_the_program_is_detached() {
    require_root!();
    let ns = Netns::new("steer");
    ns.ip(&["route", "add", "local", "10.64.0.0/16", "dev", "lo"]);
    let netns = std::fs::File::open(format!("/var/run/netns/{}", ns.name())).expect("netns");
    let mut dp = Dataplane::load().expect("load the data plane");
    let one = ns.enter(|| TcpListener::bind("127.0.0.1:9")).expect("bind");
    dp.set_steer_socket(0, &one).expect("sockmap");
    let listed: SocketAddr = "10.64.0.1:81".parse().unwrap();
    let unlisted: SocketAddr = "10.64.0.2:81".parse().unwrap();
    dp.steer(listed, 0).expect("steer entry");
    assert!(
        !connects(&ns, listed),
        "nothing listens there before the program is attached"
    );
    let link = dp.attach_steer(&netns).expect("attach sk_lookup");
    assert!(
        connects(&ns, listed),
        "a listed VIP:port reaches the socket"
    );
    let (accepted, peer) = one.accept().expect("accept");
    assert_eq!(
        accepted.local_addr().unwrap(),
        listed,
        "with the VIP as its local address"
    );
    assert_eq!(peer.ip(), "10.64.0.1".parse::<std::net::IpAddr>().unwrap());
    assert!(
        !connects(&ns, unlisted),
        "an unlisted one is the kernel's: refused"
    );
    dp.detach_steer(link).expect("detach");
    assert!(!connects(&ns, listed), "detached: refused again");
}
