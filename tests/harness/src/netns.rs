//! A named network namespace that is removed on drop, with what tests do inside it: links,
//! addresses, routes, sysctls, commands, long-running processes and closures.

use std::{
    fs::File,
    os::fd::AsRawFd as _,
    process::{Child, Command, Output, Stdio},
};

use crate::{cmd, names, sweep};

/// A network namespace created with `ip netns add` (visible in `ip netns list`). Dropping it
/// kills every process still inside and deletes it, which also deletes its links.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace with a unique name built from `label`, with `lo` up. Leftovers of
    /// dead test processes are swept first (once per process).
    #[must_use]
    pub fn new(label: &str) -> Self {
        sweep::stale_once();
        let name = names::unique(label);
        cmd::run("ip", &["netns", "add", &name]);
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name (for `ip netns exec`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> args...`, panicking on failure; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        cmd::run("ip", &full)
    }

    /// A permanent neighbour entry: route lookups to `addr` on `dev` succeed without ARP/ND.
    pub fn static_neighbour(&self, addr: &str, mac: &str, dev: &str) {
        self.ip(&[
            "neigh",
            "replace",
            addr,
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ]);
    }

    /// Runs a program inside the namespace and returns its output, whatever its status.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        cmd::output("ip", &self.exec_args(program, args))
    }

    /// `netns exec <ns> <program> <args...>` for `ip`.
    fn exec_args<'a>(&'a self, program: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["netns", "exec", self.name.as_str(), program];
        full.extend_from_slice(args);
        full
    }

    /// Runs a program inside the namespace, panicking if it fails; returns stdout.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> String {
        cmd::run("ip", &self.exec_args(program, args))
    }

    /// Starts a long-running program inside the namespace; it is killed when the returned
    /// guard (or, at the latest, the namespace) is dropped.
    #[must_use]
    pub fn spawn(&self, program: &str, args: &[&str]) -> NsProcess {
        let child = Command::new("ip")
            .args(["netns", "exec", self.name.as_str(), program])
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{program}` in {}: {e}", self.name));
        NsProcess { child }
    }

    /// Runs `f` on a thread that has joined this namespace. Sockets created by `f` stay in the
    /// namespace and may be returned and used from any thread. A panic in `f` propagates.
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: setns on a valid namespace fd; it only changes this (new) thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
                f()
            });
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Creates a veth pair between the root namespace (`root_end`, e.g. a management link)
    /// and this namespace (`local`), both up. Deleting the namespace deletes the pair.
    pub fn veth_to_root(&self, local: &str, root_end: &str) {
        cmd::run(
            "ip",
            &[
                "link",
                "add",
                root_end,
                "type",
                "veth",
                "peer",
                "name",
                local,
                "netns",
                self.name.as_str(),
            ],
        );
        cmd::run("ip", &["link", "set", root_end, "up"]);
        self.up(local);
    }

    /// Creates a veth pair: `local` in this namespace, `peer` in `peer_ns`, both up.
    pub fn veth(&self, local: &str, peer_ns: &Self, peer: &str) {
        cmd::run(
            "ip",
            &[
                "link",
                "add",
                local,
                "netns",
                &self.name,
                "type",
                "veth",
                "peer",
                "name",
                peer,
                "netns",
                &peer_ns.name,
            ],
        );
        self.up(local);
        peer_ns.up(peer);
    }

    /// Brings an interface up.
    pub fn up(&self, iface: &str) {
        self.ip(&["link", "set", iface, "up"]);
    }

    /// Adds an address (`198.18.0.1/24`, `fd00::1/64`). IPv6 addresses skip duplicate address
    /// detection so they are usable at once.
    pub fn addr(&self, iface: &str, cidr: &str) {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", iface, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", iface]);
        }
    }

    /// Adds a route: `ns.route(&["default", "via", "198.18.0.1"])`.
    pub fn route(&self, spec: &[&str]) {
        let mut args = vec!["route", "add"];
        args.extend_from_slice(spec);
        self.ip(&args);
    }

    /// Creates a bridge, up.
    pub fn bridge(&self, name: &str) {
        self.ip(&["link", "add", name, "type", "bridge"]);
        self.up(name);
    }

    /// Attaches `iface` to `bridge`.
    pub fn enslave(&self, iface: &str, bridge: &str) {
        self.ip(&["link", "set", iface, "master", bridge]);
    }

    /// Sets a sysctl of this namespace, e.g. `("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.enter(|| {
            std::fs::write(&path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
        });
    }

    /// Turns off checksum and segmentation offloads on a veth end. A veth normally hands
    /// packets over with partial checksums (filled in "by the NIC" later); once XDP redirects
    /// such a frame, nobody completes the checksum and the receiver drops it. Real NICs
    /// deliver complete checksums, so test senders must too.
    pub fn no_offload(&self, iface: &str) {
        self.exec_ok(
            "ethtool",
            &["-K", iface, "tx", "off", "tso", "off", "gso", "off"],
        );
    }

    /// `ip -details link show <iface>`, e.g. to see whether XDP is attached.
    #[must_use]
    pub fn link_details(&self, iface: &str) -> String {
        self.ip(&["-details", "link", "show", iface])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        sweep::remove_netns(&self.name);
    }
}

/// A process running inside a namespace; killed and reaped on drop.
pub struct NsProcess {
    child: Child,
}

impl NsProcess {
    /// Takes ownership of a child started elsewhere (e.g. with its output redirected).
    #[must_use]
    pub fn from_child(child: Child) -> Self {
        Self { child }
    }

    /// The underlying child, e.g. to wait for it.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            // Already exited is fine; anything else is worth a line.
            if e.kind() != std::io::ErrorKind::InvalidInput {
                eprintln!("cleanup: kill pid {}: {e}", self.child.id());
            }
        }
        if let Err(e) = self.child.wait() {
            eprintln!("cleanup: wait pid {}: {e}", self.child.id());
        }
    }
}
