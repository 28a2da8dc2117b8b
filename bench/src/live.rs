//! Live packet rate through a veth. The traffic generator (`lb-gen`, an XDP program run with
//! BPF_PROG_TEST_RUN live frames in the client namespace; the kernel has no pktgen here)
//! gives each frame the template's headers with the next of N flows' source address and sends it with XDP_TX to the
//! lb namespace's `eth0`, where the program under test runs in native XDP: `lb_tx` bouncing
//! frames back (the floor), or `lb_xdp` translating and redirecting them to the member-side
//! veth. The rate is frames processed by XDP on lb's `eth0` (veth `rx_queue_*_xdp_packets`)
//! per second of wall time; for `lb_xdp` its own counters must show every one forwarded.

use std::time::Instant;

use anyhow::{Context as _, ensure};
use aya::{
    Ebpf, EbpfLoader,
    maps::Array,
    programs::{TestRun as _, TestRunAttrs, TestRunOptions, Xdp},
};
use lb_agent::dataplane::{AttachMode, Dataplane, GEN_OBJECT};
use lb_common::{
    addr::{FAMILY_V4, IPPROTO_TCP, v4},
    flow::{FlowKey, FlowValue},
    generator::{GEN_COUNT, GEN_HEADER, GEN_MAX, GEN_PROGRAM, GEN_TEMPLATES, GenFrame},
    maps::{DROP_PROGRAM, REDIRECT_PROGRAM, TX_PROGRAM, XDP_PROGRAM},
    stats::PacketClass,
};
use lb_testkit::Netns;
use serde::Serialize;

use crate::{
    setup::{self, Bench, VIP},
    stats::Stat,
};

/// The `live_mpps` section of the report.
#[derive(Debug, Serialize)]
pub struct LiveMpps {
    pub xdp_tx_floor: Stat,
    /// `bpf_redirect` of every frame to the member-side veth, nothing else: the cost of
    /// sending on through another interface, which the data plane pays and XDP_TX does not.
    pub redirect_floor: Stat,
    /// One-armed: members behind the client-side veth, translated frames leave with XDP_TX
    /// through the veth they came in on, as the floor's do.
    pub flows_1: Stat,
    pub flows_10k: Stat,
    /// Two-armed: members behind the member-side veth, translated frames are redirected there
    /// (compare with `redirect_floor`).
    pub two_arm_flows_1: Stat,
    pub two_arm_flows_10k: Stat,
}

/// The `live_program_ns` section: the kernel's run time per frame of the program on lb's
/// client-side veth in each live figure (one sample with run-time statistics on).
#[derive(Debug, Serialize)]
pub struct LiveProgramNs {
    pub xdp_tx_floor: f64,
    pub redirect_floor: f64,
    pub flows_1: f64,
    pub flows_10k: f64,
    pub two_arm_flows_1: f64,
    pub two_arm_flows_10k: f64,
}

/// Frames per sample, samples per figure, flows of the many-flows figure.
pub struct Effort {
    pub samples: usize,
    pub frames: u32,
    pub flows: u32,
}

const BATCH: u32 = 64;

/// Frames XDP has processed on `iface` (sum over receive queues).
fn xdp_packets(ns: &Netns, iface: &str) -> u64 {
    ns.exec_ok("ethtool", &["-S", iface])
        .lines()
        .filter(|l| l.trim_start().starts_with("rx_queue_") && l.contains("_xdp_packets:"))
        .filter_map(|l| l.rsplit(':').next()?.trim().parse::<u64>().ok())
        .sum()
}

/// Where the members of the live figures sit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arms {
    /// Behind the client-side interface (one NIC for VIP and members): translated frames leave
    /// the way they came, with XDP_TX, like the floor's.
    One,
    /// Behind the member-side interface: translated frames are redirected to another veth.
    Two,
}

/// The client-side entry of flow `i`, as its completed handshake would have left it.
fn flow(i: u32, arms: Arms) -> (FlowKey, FlowValue) {
    let (snat, member) = match arms {
        Arms::One => ([198, 18, 0, 2], [198, 18, 0, 11]),
        Arms::Two => ([198, 18, 1, 1], [198, 18, 1, 11]),
    };
    let key = FlowKey {
        src: v4(setup::client(i)),
        dst: v4(VIP),
        sport: 40000u16.to_be(),
        dport: 80u16.to_be(),
        proto: IPPROTO_TCP,
        family: FAMILY_V4,
        _pad: [0; 2],
    };
    let value = FlowValue {
        new_src: v4(snat),
        new_dst: v4(member),
        new_sport: (1024 + (i % 60_000) as u16).to_be(),
        new_dport: 8080u16.to_be(),
        backend: 1,
        listener: 0,
        flags: 0,
        _pad: [0; 3],
        // Long enough that no flow expires during the run.
        idle_timeout_ms: 3_600_000,
        last_seen_ns: lb_agent::dataplane::gc::monotonic_ns(),
        ..FlowValue::default()
    };
    (key, value)
}

/// The generator, loaded in the client namespace, cycling through `flows` flows
/// (`setup::client(i)` to the VIP).
struct Generator {
    ebpf: Ebpf,
    frame: Vec<u8>,
    ifindex: u32,
    /// Flows it cycles through.
    flows: u32,
}

impl Generator {
    fn new(bench: &Bench, flows: u32) -> anyhow::Result<Self> {
        let frame = setup::tcp(0, 40000, false);
        let mut ebpf = bench.client.enter(|| EbpfLoader::new().load(GEN_OBJECT))?;
        let program: &mut Xdp = ebpf
            .program_mut(GEN_PROGRAM)
            .context("lb_gen missing")?
            .try_into()?;
        program.load()?;
        ensure!(
            flows <= GEN_MAX,
            "the generator cycles through {GEN_MAX} flows at most"
        );
        let mut templates: Array<_, GenFrame> = Array::try_from(
            ebpf.map_mut(GEN_TEMPLATES)
                .context("templates map missing")?,
        )?;
        let mut template = GenFrame::default();
        template
            .bytes
            .copy_from_slice(&setup::tcp(0, 40000, false)[..GEN_HEADER]);
        templates.set(0, template, 0)?;
        let mut count: Array<_, u32> =
            Array::try_from(ebpf.map_mut(GEN_COUNT).context("count map missing")?)?;
        count.set(0, flows, 0)?;
        Ok(Self {
            ebpf,
            frame,
            ifindex: bench.client_eth0,
            flows,
        })
    }

    /// Sends `frames / WARM_UP` frames, then `frames` timed ones (see [`Self::send`]).
    fn timed_send(&mut self, bench: &Bench, frames: u32) -> anyhow::Result<(u64, f64)> {
        self.send(bench, frames / WARM_UP)?;
        self.send(bench, frames)
    }

    /// Sends `frames` frames; returns (frames processed by XDP on lb's eth0, seconds).
    fn send(&mut self, bench: &Bench, frames: u32) -> anyhow::Result<(u64, f64)> {
        let md = lb_agent::dataplane::test_run::xdp_md(self.frame.len(), self.ifindex);
        let before = xdp_packets(&bench.lb, "eth0");
        let start = Instant::now();
        let (ebpf, frame) = (&mut self.ebpf, &self.frame);
        bench.client.enter(|| -> anyhow::Result<()> {
            let program: &mut Xdp = ebpf
                .program_mut(GEN_PROGRAM)
                .context("lb_gen missing")?
                .try_into()?;
            program.test_run(TestRunOptions {
                data_in: Some(frame),
                ctx_in: Some(&md),
                repeat: frames,
                attrs: TestRunAttrs::new().xdp_live_frames(BATCH),
                ..TestRunOptions::default()
            })?;
            Ok(())
        })?;
        let secs = start.elapsed().as_secs_f64();
        Ok((xdp_packets(&bench.lb, "eth0") - before, secs))
    }
}

/// The live figures, measured in rounds: each round takes one sample of every figure, floors
/// first, so that the host's drift during the run (a shared VM's rates wander by a quarter
/// within a minute) falls on floors and figures alike instead of on whichever was measured
/// last. Programs are swapped between samples (each attached for its sample only).
pub fn run(bench: &Bench, effort: &Effort) -> anyhow::Result<(LiveMpps, LiveProgramNs)> {
    // The far ends take the frames in XDP, as a wire would: the bounced frames of the floor on
    // the client's veth, the forwarded ones on the member's. Without the sinks both figures
    // would mostly measure the receiving namespaces turning frames into socket buffers.
    let _sinks = [(&bench.client, "eth0"), (&bench.member, "eth0")]
        .into_iter()
        .map(|(ns, iface)| {
            ns.enter(|| -> anyhow::Result<Dataplane> {
                let mut dp = Dataplane::load()?;
                dp.attach_floor(DROP_PROGRAM, iface)?;
                Ok(dp)
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut one = Generator::new(bench, 1)?;
    let mut many = Generator::new(bench, effort.flows)?;
    let eth1 = setup::ifindex(&bench.lb, "eth1");
    let state = setup::state()?;

    let mut samples: [Vec<f64>; FIGURES] = Default::default();
    let mut ns = [0.0; FIGURES];
    for round in 0..effort.samples {
        // Run-time statistics (two clock reads per run) only in an extra sample of the last
        // round, so that the rate samples are taken without them.
        let last = round + 1 == effort.samples;
        // Floor: lb_tx on lb's eth0 bounces every frame back.
        {
            let mut floor = bench.lb.enter(|| -> anyhow::Result<Dataplane> {
                let mut dp = Dataplane::load()?;
                dp.attach_floor(TX_PROGRAM, "eth0")?;
                Ok(dp)
            })?;
            let (processed, secs) = one.timed_send(bench, effort.frames)?;
            samples[TX_FLOOR].push(processed as f64 / secs / 1e6);
            if last {
                ns[TX_FLOOR] =
                    program_ns(&mut floor, TX_PROGRAM, || one.send(bench, effort.frames))?;
            }
        }
        // Redirect floor: lb_redirect on lb's eth0 sends every frame to eth1 (member side).
        {
            let mut floor = bench.lb.enter(|| -> anyhow::Result<Dataplane> {
                let mut dp = Dataplane::load()?;
                dp.set_floor_redirect(eth1)?;
                dp.attach_floor(REDIRECT_PROGRAM, "eth0")?;
                Ok(dp)
            })?;
            let before = xdp_packets(&bench.member, "eth0");
            let (_, secs) = one.timed_send(bench, effort.frames)?;
            let arrived = xdp_packets(&bench.member, "eth0") - before;
            samples[REDIRECT_FLOOR].push(arrived as f64 / secs / 1e6);
            if last {
                ns[REDIRECT_FLOOR] = program_ns(&mut floor, REDIRECT_PROGRAM, || {
                    one.send(bench, effort.frames)
                })?;
            }
        }
        // The data plane on eth0 and eth1.
        let mut dp = bench.lb.enter(|| -> anyhow::Result<Dataplane> {
            let mut dp = Dataplane::load()?;
            dp.attach("eth0", AttachMode::Native)?;
            dp.attach("eth1", AttachMode::Native)?;
            dp.apply(&state)?;
            Ok(dp)
        })?;
        for (figure, arms) in [
            (TWO_1, Arms::Two),
            (TWO_10K, Arms::Two),
            (ONE_1, Arms::One),
            (ONE_10K, Arms::One),
        ] {
            let generator = if figure == TWO_1 || figure == ONE_1 {
                &mut one
            } else {
                &mut many
            };
            samples[figure].push(forwarded_mpps(bench, &mut dp, generator, arms, effort)?);
            if last {
                ns[figure] = program_ns(&mut dp, XDP_PROGRAM, || {
                    generator.send(bench, effort.frames)
                })?;
            }
        }
    }
    let stat = |figure: usize| Stat::of(&samples[figure]);
    Ok((
        LiveMpps {
            xdp_tx_floor: stat(TX_FLOOR),
            redirect_floor: stat(REDIRECT_FLOOR),
            flows_1: stat(ONE_1),
            flows_10k: stat(ONE_10K),
            two_arm_flows_1: stat(TWO_1),
            two_arm_flows_10k: stat(TWO_10K),
        },
        LiveProgramNs {
            xdp_tx_floor: ns[TX_FLOOR],
            redirect_floor: ns[REDIRECT_FLOOR],
            flows_1: ns[ONE_1],
            flows_10k: ns[ONE_10K],
            two_arm_flows_1: ns[TWO_1],
            two_arm_flows_10k: ns[TWO_10K],
        },
    ))
}

/// Indices of the figures in one round's samples.
const TX_FLOOR: usize = 0;
const REDIRECT_FLOOR: usize = 1;
const TWO_1: usize = 2;
const TWO_10K: usize = 3;
const ONE_1: usize = 4;
const ONE_10K: usize = 5;
const FIGURES: usize = 6;

/// One sample of the data plane: the generator's flows seeded in the flow table, frames sent,
/// every one of them checked forwarded to the expected far end; million frames forwarded per
/// second.
fn forwarded_mpps(
    bench: &Bench,
    dp: &mut Dataplane,
    generator: &mut Generator,
    arms: Arms,
    effort: &Effort,
) -> anyhow::Result<f64> {
    // (Re)seeding also empties every flow's next-hop cache.
    for i in 0..generator.flows {
        let (k, v) = flow(i, arms);
        dp.insert_flow(&k, &v)?;
    }
    let sink = match arms {
        Arms::One => &bench.client,
        Arms::Two => &bench.member,
    };
    generator.send(bench, effort.frames / WARM_UP)?;
    let before = dp.counters()?.class(PacketClass::Forwarded).packets;
    let sunk = xdp_packets(sink, "eth0");
    let (processed, secs) = generator.send(bench, effort.frames)?;
    let forwarded = dp.counters()?.class(PacketClass::Forwarded).packets - before;
    let sunk = xdp_packets(sink, "eth0") - sunk;
    // A few frames of the namespace's own (IPv6 neighbour discovery) pass too.
    ensure!(
        forwarded > 0 && forwarded <= processed && processed - forwarded <= 16,
        "XDP processed {processed} frames but forwarded {forwarded} (counters: {:?})",
        dp.counters()?
    );
    // A veth drops frames sent into it while its peer's ring is full (the floors' frames too,
    // uncounted): up to a few in a thousand. Frames sent the wrong way would all be missing.
    ensure!(
        sunk * 100 >= forwarded * 99,
        "{forwarded} frames forwarded but only {sunk} reached the expected far end"
    );
    Ok(forwarded as f64 / secs / 1e6)
}

/// Every timed sample follows an untimed one of 1/`WARM_UP` its size (caches, the program's
/// first runs after attaching, the next-hop and flow caches after seeding).
const WARM_UP: u32 = 8;

/// Nanoseconds the kernel accounts to `program` per frame over one more sample, run with the
/// kernel's run-time statistics on (they cost two clock reads per run, so the rate samples
/// are taken without them).
fn program_ns(
    dp: &mut Dataplane,
    program: &'static str,
    sample: impl FnOnce() -> anyhow::Result<(u64, f64)>,
) -> anyhow::Result<f64> {
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime)?;
    let (t0, n0) = dp.program_run_stats(program)?;
    sample()?;
    let (t1, n1) = dp.program_run_stats(program)?;
    let runs = n1.saturating_sub(n0);
    ensure!(runs > 0, "{program} did not run");
    Ok((t1 - t0).as_nanos() as f64 / runs as f64)
}

#[cfg(test)]
mod tests {
    use lb_common::generator::{GEN_IP_WORD, GEN_MAX, GEN_TCP_WORD, flow_words};

    use crate::setup;

    fn word(frame: &[u8], i: usize) -> u64 {
        u64::from_le_bytes(frame[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
    }

    /// The generator's computed flows are the frames the benchmark seeds flows for, checksums
    /// included (a wrong checksum would go unnoticed by the data plane, which does not check
    /// them, but not by a real member).
    #[test]
    fn computed_flows_are_the_seeded_flows_frames() {
        let template = setup::tcp(0, 40000, false);
        for i in 0..GEN_MAX {
            let expected = setup::tcp(i, 40000, false);
            let (ip, tcp) = flow_words(
                word(&template, GEN_IP_WORD),
                word(&template, GEN_TCP_WORD),
                i,
            );
            assert_eq!(ip, word(&expected, GEN_IP_WORD), "flow {i}: IPv4 word");
            assert_eq!(tcp, word(&expected, GEN_TCP_WORD), "flow {i}: TCP word");
        }
    }
}
