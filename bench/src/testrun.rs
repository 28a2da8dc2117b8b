//! ns/packet through BPF_PROG_TEST_RUN, one packet per call as the kernel times it, with the
//! client-side interface as ingress so route lookups are real: an XDP_PASS program (floor),
//! a packet of an established TCP flow (IPv4 and IPv6), a new-flow SYN, a UDP packet of a flow, a
//! non-VIP packet.

use anyhow::{bail, ensure};
use lb_agent::dataplane::{Dataplane, XdpVerdict};
use lb_common::maps::{PASS_PROGRAM, XDP_PROGRAM};
use lb_testkit::packet;
use serde::Serialize;

use crate::{
    setup::{self, Bench, VIP},
    stats::Stat,
};

/// The `testrun_ns` section of the report.
#[derive(Debug, Serialize)]
pub struct TestRunNs {
    pub floor_pass: Stat,
    pub established: Stat,
    /// A packet of an established IPv6 TCP flow (its own fast-path cache).
    pub established_v6: Stat,
    pub new_flow: Stat,
    pub udp: Stat,
    pub non_vip: Stat,
}

/// Samples per figure, and runs per sample.
pub struct Effort {
    pub samples: usize,
    /// Calls (one run each) per sample.
    pub calls: u32,
    pub new_flows_per_sample: u32,
}

pub fn run(bench: &Bench, effort: &Effort) -> anyhow::Result<TestRunNs> {
    let ifindex = bench.eth0;
    let tx_mode = std::env::var_os("LB_BENCH_TX").is_some();
    bench.lb.enter(|| {
        let mut dp = Dataplane::load()?;
        if tx_mode {
            dp.set_config_flags(lb_common::config::CFG_F_TX_AFTER_NAT);
        }
        dp.apply(&setup::state()?)?;
        // Establish the flows the steady-state figures use.
        let syn = setup::tcp(0, 40000, true);
        expect(&mut dp, &syn, ifindex, XdpVerdict::Redirect, "first SYN")?;
        let ack = setup::tcp(0, 40000, false);
        let udp = packet::ipv4_udp(setup::client(0), VIP, 5353, 53, &[0u8; 64]);
        let out = setup::run(&mut dp, XDP_PROGRAM, &udp, ifindex, 1)?;
        ensure!(
            out.verdict == XdpVerdict::Redirect || (tx_mode && out.verdict == XdpVerdict::Tx),
            "first UDP datagram: {:?}",
            out.verdict
        );
        // The member's answer establishes the flow (until then it is in the handshake table).
        let p = &out.packet;
        ensure!(
            p.len() >= 42,
            "first UDP datagram: translated frame too short"
        );
        let answer = packet::ipv4_udp(
            [p[30], p[31], p[32], p[33]],
            [p[26], p[27], p[28], p[29]],
            u16::from_be_bytes([p[36], p[37]]),
            u16::from_be_bytes([p[34], p[35]]),
            &[0u8; 64],
        );
        // (Its verdict does not matter here: client 0's address lies in the member-side
        // subnet, whose neighbours are not resolved, so it is handed to the stack.)
        setup::run(&mut dp, XDP_PROGRAM, &answer, ifindex, 1)?;
        let opened = dp.listener_stats("udp")?.map_or(0, |l| l.traffic.opened);
        ensure!(
            opened == 1,
            "the member's answer did not establish the UDP flow"
        );
        // An IPv6 flow: its SYN here, its client ACK (which completes the handshake) in the
        // figure's first run.
        let (client6, vip6) = (v6(setup::CLIENT6)?, v6(setup::VIP6)?);
        let syn6 = packet::ipv6_tcp(client6, vip6, 40000, 80, true, &[]);
        expect(
            &mut dp,
            &syn6,
            ifindex,
            XdpVerdict::Redirect,
            "first IPv6 SYN",
        )?;
        let ack6 = packet::ipv6_tcp(client6, vip6, 40000, 80, false, &[0u8; 64]);
        let non_vip = packet::ipv4_tcp(
            setup::client(0),
            [198, 18, 0, 2],
            40000,
            22,
            false,
            &[0u8; 64],
        );
        expect(
            &mut dp,
            &non_vip,
            ifindex,
            XdpVerdict::Pass,
            "non-VIP packet",
        )?;

        // One run per call: the kernel does not restore the packet between the repeats of
        // one call, so from the second repeat on, a data-plane figure would time the packet
        // its first run had translated (addressed to a member: no VIP, passed) instead of the
        // packet of the figure. Every call copies the frame in afresh; the kernel times the
        // run alone (not the syscall), the floor is measured the same way.
        let mut steady =
            |program: &'static str, frame: &[u8], want: XdpVerdict| -> anyhow::Result<Stat> {
                let mut samples = Vec::new();
                for _ in 0..effort.samples {
                    let mut total = 0u64;
                    for _ in 0..effort.calls {
                        let out = setup::run(&mut dp, program, frame, ifindex, 1)?;
                        ensure!(
                            out.verdict == want || (tx_mode && out.verdict == XdpVerdict::Tx),
                            "{program}: verdict {:?}, expected {want:?}",
                            out.verdict
                        );
                        total += out.duration_ns;
                    }
                    samples.push(total as f64 / f64::from(effort.calls));
                }
                Ok(Stat::of(&samples))
            };
        let floor_pass = steady(PASS_PROGRAM, &ack, XdpVerdict::Pass)?;
        let established = steady(XDP_PROGRAM, &ack, XdpVerdict::Redirect)?;
        let established_v6 = steady(XDP_PROGRAM, &ack6, XdpVerdict::Redirect)?;
        let udp_stat = steady(XDP_PROGRAM, &udp, XdpVerdict::Redirect)?;
        let non_vip_stat = steady(XDP_PROGRAM, &non_vip, XdpVerdict::Pass)?;

        // New flows: every call a SYN from a new source; the kernel times each single run.
        let mut samples = Vec::new();
        let mut next = 1u32;
        for _ in 0..effort.samples {
            let mut total = 0u64;
            for _ in 0..effort.new_flows_per_sample {
                let syn = setup::tcp(next, 40000, true);
                next += 1;
                let out = setup::run(&mut dp, XDP_PROGRAM, &syn, ifindex, 1)?;
                ensure!(
                    matches!(out.verdict, XdpVerdict::Redirect | XdpVerdict::Tx),
                    "new flow {next}: {:?}",
                    out.verdict
                );
                total += out.duration_ns;
            }
            samples.push(total as f64 / f64::from(effort.new_flows_per_sample));
        }
        Ok(TestRunNs {
            floor_pass,
            established,
            established_v6,
            new_flow: Stat::of(&samples),
            udp: udp_stat,
            non_vip: non_vip_stat,
        })
    })
}

fn expect(
    dp: &mut Dataplane,
    frame: &[u8],
    ifindex: u32,
    want: XdpVerdict,
    what: &str,
) -> anyhow::Result<()> {
    let out = setup::run(dp, XDP_PROGRAM, frame, ifindex, 1)?;
    let tx_mode = std::env::var_os("LB_BENCH_TX").is_some();
    if out.verdict != want && !(tx_mode && out.verdict == XdpVerdict::Tx) {
        bail!(
            "{what}: verdict {:?}, expected {want:?} (counters: {:?})",
            out.verdict,
            dp.counters()?
        );
    }
    Ok(())
}

fn v6(addr: &str) -> anyhow::Result<[u8; 16]> {
    Ok(addr.parse::<std::net::Ipv6Addr>()?.octets())
}
