//! The standard load-balancer topology of the network tests:
//!
//! ```text
//!  client ns                lb ns                         switch ns            member ns (×N)
//!  eth0 198.18.0.1/24 ──── eth0 198.18.0.2/24             br0                  eth0 198.18.1.11.. /24
//!       fd00:18::1/64           fd00:18::2/64              ├─ lb1 ─── eth1      fd00:19::11.. /64
//!                               VIP 198.18.0.100/32        ├─ m1 ──── member 1
//!                               VIP fd00:18::100/128       └─ ...
//!                          eth1 198.18.1.1/24  (SNAT)
//!                               fd00:19::1/64
//! ```
//! The VIPs are local addresses of `lb` so it answers ARP/ND for them. Client and members send
//! with checksum offload off (see `Netns::no_offload`). `redirect_peers()` lists
//! the veth ends that receive frames XDP redirects into their peer; GRO is turned on there so
//! the veth accepts them.

use crate::Netns;

pub const CLIENT_V4: &str = "198.18.0.1";
pub const CLIENT_V6: &str = "fd00:18::1";
pub const VIP_V4: &str = "198.18.0.100";
pub const VIP_V6: &str = "fd00:18::100";
pub const SNAT_V4: &str = "198.18.1.1";
pub const SNAT_V6: &str = "fd00:19::1";

/// The namespaces of one topology; everything is removed on drop.
pub struct LbTopology {
    pub client: Netns,
    pub lb: Netns,
    pub switch: Netns,
    pub members: Vec<Netns>,
}

/// IPv4 address of member `i` (0-based).
#[must_use]
pub fn member_v4(i: usize) -> String {
    format!("198.18.1.{}", 11 + i)
}

/// IPv6 address of member `i` (0-based).
#[must_use]
pub fn member_v6(i: usize) -> String {
    format!("fd00:19::{}", 11 + i)
}

impl LbTopology {
    /// Builds the topology with `members` member namespaces.
    #[must_use]
    pub fn new(members: usize) -> Self {
        Self::build(members, true)
    }

    /// The same topology without the VIP addresses on the lb namespace's `eth0` (for an agent
    /// that adds them itself).
    #[must_use]
    pub fn without_vips(members: usize) -> Self {
        Self::build(members, false)
    }

    fn build(members: usize, vips: bool) -> Self {
        let client = Netns::new("client");
        let lb = Netns::new("lb");
        let switch = Netns::new("switch");
        client.veth("eth0", &lb, "eth0");
        client.no_offload("eth0");
        client.addr("eth0", &format!("{CLIENT_V4}/24"));
        client.addr("eth0", &format!("{CLIENT_V6}/64"));
        lb.addr("eth0", "198.18.0.2/24");
        lb.addr("eth0", "fd00:18::2/64");
        if vips {
            lb.addr("eth0", &format!("{VIP_V4}/32"));
            lb.addr("eth0", &format!("{VIP_V6}/128"));
        }
        switch.bridge("br0");
        lb.veth("eth1", &switch, "lb1");
        switch.enslave("lb1", "br0");
        lb.addr("eth1", &format!("{SNAT_V4}/24"));
        lb.addr("eth1", &format!("{SNAT_V6}/64"));
        let members = (0..members)
            .map(|i| {
                let m = Netns::new(&format!("member{}", i + 1));
                let port = format!("m{}", i + 1);
                m.veth("eth0", &switch, &port);
                m.no_offload("eth0");
                switch.enslave(&port, "br0");
                m.addr("eth0", &format!("{}/24", member_v4(i)));
                m.addr("eth0", &format!("{}/64", member_v6(i)));
                m
            })
            .collect();
        let topo = Self {
            client,
            lb,
            switch,
            members,
        };
        // A veth delivers frames XDP redirects into its peer only when that end runs NAPI:
        // GRO on turns it on (an XDP program on the end would too).
        for (ns, iface) in topo.redirect_peers() {
            ns.exec_ok("ethtool", &["-K", iface, "gro", "on"]);
        }
        topo
    }

    /// (namespace, interface) of the veth ends whose peers XDP redirects into (GRO is on).
    #[must_use]
    pub fn redirect_peers(&self) -> [(&Netns, &'static str); 2] {
        [(&self.client, "eth0"), (&self.switch, "lb1")]
    }
}
