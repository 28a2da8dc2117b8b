//! Fixture table for the XDP entry point: each frame goes through the real compiled and verified
//! object with BPF_PROG_TEST_RUN; the test checks the verdict, the bytes that come out, and that
//! exactly the expected counter moved by exactly this frame.

use lb_agent::dataplane::{Counters, Dataplane, XdpVerdict};
use lb_common::{drop::DropReason, stats::PacketClass, stats::PacketCounter};
use lb_testkit::{
    packet::{
        CLIENT_V4, CLIENT_V6, ETH_HLEN, VIP_V4, VIP_V6, arp_request, ipv4_tcp, ipv4_udp, ipv6_udp,
        push_vlan_tag, vlan_ipv4_tcp,
    },
    require_root,
};

/// Which counter a frame must move.
#[derive(Clone, Copy, Debug)]
enum Counted {
    Passed(PacketClass),
    Dropped(DropReason),
}

struct Fixture {
    name: &'static str,
    frame: Vec<u8>,
    counted: Counted,
}

impl Fixture {
    fn verdict(&self) -> XdpVerdict {
        match self.counted {
            Counted::Passed(_) => XdpVerdict::Pass,
            Counted::Dropped(_) => XdpVerdict::Drop,
        }
    }
}

fn syn_v4() -> Vec<u8> {
    ipv4_tcp(CLIENT_V4, VIP_V4, 40000, 80, true, &[])
}

/// Applies `edit` to the IPv4 header of an untagged frame.
fn edit_ipv4(mut frame: Vec<u8>, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    edit(&mut frame[ETH_HLEN..]);
    frame
}

/// An IPv4 TCP SYN whose header carries 4 bytes of NOP options (IHL 6), lengths consistent.
fn ipv4_with_options() -> Vec<u8> {
    let base = syn_v4();
    let mut f = base[..ETH_HLEN + 20].to_vec();
    f.extend_from_slice(&[1, 1, 1, 1]);
    f.extend_from_slice(&base[ETH_HLEN + 20..]);
    let ip = &mut f[ETH_HLEN..];
    ip[0] = 0x46;
    let total = u16::from_be_bytes([ip[2], ip[3]]) + 4;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    f
}

fn fixtures() -> Vec<Fixture> {
    use Counted::{Dropped, Passed};
    let row = |name, frame, counted| Fixture {
        name,
        frame,
        counted,
    };
    vec![
        row("ipv4 tcp syn", syn_v4(), Passed(PacketClass::Ipv4)),
        row(
            "ipv4 tcp data",
            ipv4_tcp(CLIENT_V4, VIP_V4, 40000, 80, false, &[0x5a; 1200]),
            Passed(PacketClass::Ipv4),
        ),
        row(
            "ipv4 udp",
            ipv4_udp(CLIENT_V4, VIP_V4, 5353, 53, b"query"),
            Passed(PacketClass::Ipv4),
        ),
        row(
            "ipv4 with options",
            ipv4_with_options(),
            Passed(PacketClass::Ipv4),
        ),
        row(
            "ipv6 udp",
            ipv6_udp(CLIENT_V6, VIP_V6, 5353, 53, b"query"),
            Passed(PacketClass::Ipv6),
        ),
        row(
            "arp request",
            arp_request(CLIENT_V4, VIP_V4),
            Passed(PacketClass::NonIp),
        ),
        row(
            "802.1Q ipv4",
            vlan_ipv4_tcp(&[100], CLIENT_V4, VIP_V4, 40000, 80),
            Passed(PacketClass::Ipv4),
        ),
        row(
            "802.1ad QinQ ipv4",
            vlan_ipv4_tcp(&[100, 200], CLIENT_V4, VIP_V4, 40000, 80),
            Passed(PacketClass::Ipv4),
        ),
        row(
            "three vlan tags",
            push_vlan_tag(&vlan_ipv4_tcp(&[100, 200], CLIENT_V4, VIP_V4, 1, 2), 300),
            Dropped(DropReason::TooManyVlans),
        ),
        row(
            "vlan tag cut short",
            {
                let mut f = syn_v4()[..ETH_HLEN + 2].to_vec();
                f[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
                f
            },
            Dropped(DropReason::TruncatedVlan),
        ),
        row(
            "ipv4 ethertype, no header",
            syn_v4()[..ETH_HLEN].to_vec(),
            Dropped(DropReason::TruncatedIpv4),
        ),
        row(
            "ipv4 header cut at 12 bytes",
            syn_v4()[..ETH_HLEN + 12].to_vec(),
            Dropped(DropReason::TruncatedIpv4),
        ),
        row(
            "ipv4 ihl 4",
            edit_ipv4(syn_v4(), |ip| ip[0] = 0x44),
            Dropped(DropReason::BadIpv4Header),
        ),
        row(
            "ipv4 version 6 under ethertype ipv4",
            edit_ipv4(syn_v4(), |ip| ip[0] = 0x65),
            Dropped(DropReason::BadIpv4Header),
        ),
        row(
            "ipv4 total length below header length",
            edit_ipv4(syn_v4(), |ip| {
                ip[2..4].copy_from_slice(&10u16.to_be_bytes())
            }),
            Dropped(DropReason::BadIpv4Header),
        ),
        row(
            "ipv4 options run past the frame",
            edit_ipv4(syn_v4(), |ip| {
                ip[0] = 0x4f; // 60-byte header; the frame has 40 bytes of IP
                ip[2..4].copy_from_slice(&60u16.to_be_bytes());
            }),
            Dropped(DropReason::TruncatedIpv4),
        ),
        row(
            "ipv6 header cut at 30 bytes",
            ipv6_udp(CLIENT_V6, VIP_V6, 1, 2, b"")[..ETH_HLEN + 30].to_vec(),
            Dropped(DropReason::TruncatedIpv6),
        ),
        row(
            "ipv6 version 4 under ethertype ipv6",
            {
                let mut f = ipv6_udp(CLIENT_V6, VIP_V6, 1, 2, b"x");
                f[ETH_HLEN] = 0x40;
                f
            },
            Dropped(DropReason::BadIpv6Header),
        ),
    ]
}

/// The counter a row names, read from a snapshot.
fn cell(counters: &Counters, counted: Counted) -> PacketCounter {
    match counted {
        Counted::Passed(class) => counters.class(class),
        Counted::Dropped(reason) => counters.dropped(reason),
    }
}

#[test]
fn xdp_fixture_table() {
    require_root!();
    let mut dp = Dataplane::load().expect("load and verify the embedded lb-ebpf object");
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let before = dp.counters().expect("read counters");
        let out = dp.test_run(&fixture.frame, 1).expect("BPF_PROG_TEST_RUN");
        let after = dp.counters().expect("read counters");

        if out.verdict != fixture.verdict() {
            failures.push(format!(
                "{}: verdict {:?}, expected {:?}",
                fixture.name,
                out.verdict,
                fixture.verdict()
            ));
            continue;
        }
        if out.verdict == XdpVerdict::Pass && out.packet != fixture.frame {
            failures.push(format!("{}: a passed frame was modified", fixture.name));
        }
        // Exactly the named cell moved, by one frame of this length; nothing else moved.
        let moved = cell(&before, fixture.counted).add(PacketCounter {
            packets: 1,
            bytes: fixture.frame.len() as u64,
        });
        if cell(&after, fixture.counted) != moved {
            failures.push(format!(
                "{}: {:?} went {:?} -> {:?}, expected {:?}",
                fixture.name,
                fixture.counted,
                cell(&before, fixture.counted),
                cell(&after, fixture.counted),
                moved
            ));
            continue;
        }
        for class in PacketClass::ALL {
            if !matches!(fixture.counted, Counted::Passed(c) if c == class) {
                assert_eq!(
                    after.class(class),
                    before.class(class),
                    "{}: {class:?} moved",
                    fixture.name
                );
            }
        }
        for reason in DropReason::ALL {
            if !matches!(fixture.counted, Counted::Dropped(r) if r == reason) {
                assert_eq!(
                    after.dropped(reason),
                    before.dropped(reason),
                    "{}: {reason:?} moved",
                    fixture.name
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fixture failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_drop_reason_has_a_fixture_or_scenario() {
    let covered: Vec<DropReason> = fixtures()
        .iter()
        .filter_map(|f| match f.counted {
            Counted::Dropped(r) => Some(r),
            Counted::Passed(_) => None,
        })
        .collect();
    for reason in DropReason::ALL {
        assert!(
            covered.contains(&reason) || lb_dataplane_tests::NAT_SCENARIO_REASONS.contains(&reason),
            "no fixture or scenario (tests/nat.rs) drops a packet for {reason:?}"
        );
    }
}
