//! The harness's own guarantees: objects exist while their guard lives and are gone after it,
//! also when the test panics or the owning process died; traffic crosses veth pairs and bridges.

use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    panic::AssertUnwindSafe,
    path::PathBuf,
    time::Duration,
};

use lb_testkit::{Netns, PinDir, cmd, require_root, sweep};

fn netns_exists(name: &str) -> bool {
    cmd::run("ip", &["netns", "list"])
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn netns_is_removed_on_drop_and_on_panic() {
    require_root!();
    let ns = Netns::new("plain");
    let name = ns.name().to_owned();
    assert!(netns_exists(&name));
    drop(ns);
    assert!(!netns_exists(&name), "{name} survived its guard");

    let mut seen = String::new();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let ns = Netns::new("panics");
        ns.bridge("br0");
        seen = ns.name().to_owned();
        panic!("test failure inside a namespace");
    }));
    assert!(result.is_err());
    assert!(!seen.is_empty());
    assert!(!netns_exists(&seen), "{seen} survived a panicking test");
}

#[test]
fn processes_inside_die_with_the_namespace() {
    require_root!();
    let ns = Netns::new("procs");
    let mut sleeper = ns.spawn("sleep", &["300"]);
    let pid = sleeper.child().id();
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());
    drop(sleeper);
    assert!(
        !PathBuf::from(format!("/proc/{pid}")).exists(),
        "spawned process {pid} outlived its guard"
    );
    // A process started by hand inside the namespace is killed when the namespace goes.
    let name = ns.name().to_owned();
    let mut orphan = std::process::Command::new("ip")
        .args(["netns", "exec", &name, "sleep", "300"])
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(100));
    drop(ns);
    let status = orphan.wait().expect("wait");
    assert!(!status.success(), "the process inside was not killed");
}

#[test]
fn stale_objects_of_dead_processes_are_swept() {
    require_root!();
    // No pid can exceed pid_max (at most 2^22), so this owner is dead.
    let stale = "lbt-999999999-0-stale";
    cmd::run("ip", &["netns", "add", stale]);
    let removed = sweep::sweep(true);
    assert!(removed >= 1);
    assert!(!netns_exists(stale), "sweep left {stale}");
    // A live process's objects are left alone by the dead-only sweep.
    let live = Netns::new("live");
    sweep::sweep(true);
    assert!(netns_exists(live.name()));
}

#[test]
fn veth_pairs_and_bridges_carry_traffic() {
    require_root!();
    // Two hosts on a bridge that lives in a third namespace.
    let switch = Netns::new("switch");
    let a = Netns::new("host-a");
    let b = Netns::new("host-b");
    switch.bridge("br0");
    a.veth("eth0", &switch, "port-a");
    b.veth("eth0", &switch, "port-b");
    switch.enslave("port-a", "br0");
    switch.enslave("port-b", "br0");
    a.addr("eth0", "198.18.5.1/24");
    b.addr("eth0", "198.18.5.2/24");

    let listener = b.enter(|| TcpListener::bind("198.18.5.2:9000").expect("bind"));
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().expect("accept");
        s.write_all(b"pong").expect("write");
        peer
    });
    let reply = a.enter(|| {
        let mut s = TcpStream::connect_timeout(
            &"198.18.5.2:9000".parse().expect("addr"),
            Duration::from_secs(5),
        )
        .expect("connect across the bridge");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = String::new();
        s.read_to_string(&mut buf).expect("read");
        buf
    });
    assert_eq!(reply, "pong");
    assert_eq!(
        server.join().expect("server").ip().to_string(),
        "198.18.5.1"
    );
}

#[test]
fn routes_and_sysctls_are_per_namespace() {
    require_root!();
    let router = Netns::new("router");
    let left = Netns::new("left");
    let right = Netns::new("right");
    left.veth("eth0", &router, "left0");
    right.veth("eth0", &router, "right0");
    left.addr("eth0", "198.18.6.2/24");
    router.addr("left0", "198.18.6.1/24");
    right.addr("eth0", "198.18.7.2/24");
    router.addr("right0", "198.18.7.1/24");
    left.route(&["default", "via", "198.18.6.1"]);
    right.route(&["default", "via", "198.18.7.1"]);
    router.sysctl("net.ipv4.ip_forward", "1");
    assert_eq!(
        router
            .exec_ok("cat", &["/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "1"
    );
    assert_eq!(
        left.exec_ok("cat", &["/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "0"
    );

    let listener = right.enter(|| TcpListener::bind("198.18.7.2:9001").expect("bind"));
    let server = std::thread::spawn(move || listener.accept().map(|(_, peer)| peer));
    left.enter(|| {
        TcpStream::connect_timeout(
            &"198.18.7.2:9001".parse().expect("addr"),
            Duration::from_secs(5),
        )
        .expect("connect through the router namespace")
    });
    let peer = server.join().expect("server").expect("accept");
    assert_eq!(peer.ip().to_string(), "198.18.6.2");
}

#[test]
fn pin_dirs_are_removed_with_their_content() {
    require_root!();
    let pins = PinDir::new("pins");
    let path = pins.path().to_owned();
    std::fs::create_dir(path.join("maps")).expect("mkdir on bpffs");
    assert!(path.join("maps").is_dir());
    drop(pins);
    assert!(!path.exists(), "{} survived its guard", path.display());
}
