//! Frames for data-plane fixtures: well-formed ones built with etherparse (checksums right),
//! and helpers to break them on purpose. Addresses come from the benchmarking range
//! 198.18.0.0/15 (RFC 2544) and the ULA fd00::/8; no frame is ever sent to a real network.

use etherparse::{IpHeaders, PacketBuilder, PacketBuilderStep, VlanId};

/// MAC of the sending side in fixtures.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// MAC of the load balancer in fixtures.
pub const LB_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Client and VIP addresses used by fixtures.
pub const CLIENT_V4: [u8; 4] = [198, 18, 0, 10];
pub const VIP_V4: [u8; 4] = [198, 18, 1, 1];
pub const CLIENT_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
pub const VIP_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

/// Ethertype offsets and values for hand-made frames.
pub const ETH_HLEN: usize = 14;

fn finish(builder_size: usize, write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(builder_size);
    write(&mut out);
    out
}

/// Ethernet + IPv4 + TCP (flags: SYN if `syn`, else ACK) + payload.
#[must_use]
pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let ip = PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC).ipv4(src, dst, 64);
    tcp_frame(ip, sport, dport, syn, payload)
}

/// Ethernet + IPv6 + TCP (flags: SYN if `syn`, else ACK) + payload.
#[must_use]
pub fn ipv6_tcp(
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let ip = PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC).ipv6(src, dst, 64);
    tcp_frame(ip, sport, dport, syn, payload)
}

/// The TCP layer (SYN if `syn`, else ACK) and payload on an IPv4 or IPv6 header.
fn tcp_frame(
    ip: PacketBuilderStep<IpHeaders>,
    sport: u16,
    dport: u16,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let b = ip.tcp(sport, dport, 1000, 64240);
    let b = if syn { b.syn() } else { b.ack(1) };
    finish(b.size(payload.len()), |out| {
        b.write(out, payload).expect("fixture frame is well-formed");
    })
}

/// Ethernet + IPv4 + UDP + payload.
#[must_use]
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC)
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    finish(b.size(payload.len()), |out| {
        b.write(out, payload).expect("fixture frame is well-formed");
    })
}

/// Ethernet + IPv6 + UDP + payload.
#[must_use]
pub fn ipv6_udp(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC)
        .ipv6(src, dst, 64)
        .udp(sport, dport);
    finish(b.size(payload.len()), |out| {
        b.write(out, payload).expect("fixture frame is well-formed");
    })
}

/// Ethernet + 802.1Q tags (one or two) + IPv4 + TCP SYN.
#[must_use]
pub fn vlan_ipv4_tcp(vlans: &[u16], src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let id = |v: u16| VlanId::try_new(v).expect("VLAN id below 4096");
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC);
    let b = match vlans {
        [one] => eth.single_vlan(id(*one)),
        [outer, inner] => eth.double_vlan(id(*outer), id(*inner)),
        _ => panic!("vlan_ipv4_tcp takes one or two tags"),
    }
    .ipv4(src, dst, 64)
    .tcp(sport, dport, 1000, 64240)
    .syn();
    finish(b.size(0), |out| {
        b.write(out, &[]).expect("fixture frame is well-formed");
    })
}

/// An ARP request (who-has `target` tell `sender`), built by hand: etherparse 0.16 has no
/// ARP builder.
#[must_use]
pub fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]); // Ethernet/IPv4, request
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f
}

/// Inserts a raw 802.1Q tag header (TPID 0x8100) after the MACs, e.g. to stack a third tag.
#[must_use]
pub fn push_vlan_tag(frame: &[u8], vlan: u16) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&0x8100u16.to_be_bytes());
    out.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    out.extend_from_slice(&frame[12..]);
    out
}

#[cfg(test)]
mod tests {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    use super::*;

    #[test]
    fn built_frames_parse_back() {
        let f = ipv4_tcp(CLIENT_V4, VIP_V4, 40000, 80, true, b"hi");
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        assert!(matches!(p.net, Some(NetSlice::Ipv4(_))));
        match p.transport {
            Some(TransportSlice::Tcp(t)) => {
                assert!(t.syn());
                assert_eq!(t.destination_port(), 80);
                assert_eq!(t.payload(), b"hi");
            }
            other => panic!("not TCP: {other:?}"),
        }
        let f = ipv6_udp(CLIENT_V6, VIP_V6, 5000, 53, b"q");
        assert!(matches!(
            SlicedPacket::from_ethernet(&f).unwrap().net,
            Some(NetSlice::Ipv6(_))
        ));
        let f = vlan_ipv4_tcp(&[10, 20], CLIENT_V4, VIP_V4, 1, 2);
        assert_eq!(
            &f[12..14],
            &[0x88, 0xa8],
            "outer tag of a double VLAN is 802.1ad"
        );
        assert_eq!(arp_request(CLIENT_V4, VIP_V4).len(), 42);
        let tagged = push_vlan_tag(&f, 30);
        assert_eq!(tagged.len(), f.len() + 4);
        assert_eq!(&tagged[12..16], &[0x81, 0x00, 0x00, 30]);
    }
}
