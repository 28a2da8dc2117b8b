//! Runs packets through the loaded XDP programs with BPF_PROG_TEST_RUN: the kernel executes the
//! real verified program on a buffer, without any interface. Used by fixture tests and benches.
//! With an ingress interface in the context, route lookups see that interface; in live-frames
//! mode the kernel also carries out the verdicts (XDP_TX, XDP_REDIRECT) on real interfaces.

use aya::programs::{TestRun as _, TestRunAttrs, TestRunOptions};
use lb_common::maps::XDP_PROGRAM;

use super::{Dataplane, loader::xdp_named};
use crate::DataplaneError;

/// Room for the program to grow a packet (encapsulation) in the output buffer.
const OUTPUT_HEADROOM: usize = 256;

/// The XDP action a program returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpVerdict {
    Aborted,
    Drop,
    Pass,
    Tx,
    Redirect,
    /// A value outside the defined actions (the kernel treats it as an abort).
    Unknown(u32),
}

impl From<u32> for XdpVerdict {
    fn from(value: u32) -> Self {
        match value {
            0 => Self::Aborted,
            1 => Self::Drop,
            2 => Self::Pass,
            3 => Self::Tx,
            4 => Self::Redirect,
            other => Self::Unknown(other),
        }
    }
}

/// What one test run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRunOutcome {
    pub verdict: XdpVerdict,
    /// The packet as the program left it.
    pub packet: Vec<u8>,
    /// Mean kernel time per run, in nanoseconds, as measured by the kernel.
    pub duration_ns: u64,
}

/// How a program is run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Runs (at least one); the kernel reports the mean time.
    pub repeat: u32,
    /// Ingress interface index for the context (0: none).
    pub ingress_ifindex: u32,
    /// Live frames with this batch size: verdicts are carried out (needs `ingress_ifindex`).
    pub live_batch: Option<u32>,
}

/// `struct xdp_md` as BPF_PROG_TEST_RUN takes it (the `ctx_in` of a run): data, data_end,
/// data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
#[must_use]
pub fn xdp_md(len: usize, ifindex: u32) -> [u8; 24] {
    let mut md = [0u8; 24];
    md[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
    md[12..16].copy_from_slice(&ifindex.to_ne_bytes());
    md
}

impl Dataplane {
    /// Runs `packet` through `lb_xdp` `repeat` times (at least once) and returns the verdict
    /// and output of the last run. The packet must be at least 14 bytes (an Ethernet header);
    /// the kernel refuses shorter input.
    pub fn test_run(
        &mut self,
        packet: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        self.test_run_program(
            XDP_PROGRAM,
            packet,
            RunOptions {
                repeat,
                ..RunOptions::default()
            },
        )
    }

    /// Runs `packet` through the named XDP program of the object (`lb_xdp`, `lb_pass`, `lb_tx`).
    pub fn test_run_program(
        &mut self,
        name: &'static str,
        packet: &[u8],
        opts: RunOptions,
    ) -> Result<TestRunOutcome, DataplaneError> {
        let program = xdp_named(&mut self.ebpf, name)?;
        let live = opts.live_batch.is_some();
        let mut out = vec![0u8; packet.len() + OUTPUT_HEADROOM];
        let md = xdp_md(packet.len(), opts.ingress_ifindex);
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(packet),
                // Live frames produce no output buffer.
                data_out: (!live).then_some(out.as_mut_slice()),
                ctx_in: (opts.ingress_ifindex != 0).then_some(&md[..]),
                repeat: opts.repeat.max(1),
                attrs: match opts.live_batch {
                    Some(batch) => TestRunAttrs::new().xdp_live_frames(batch),
                    None => TestRunAttrs::new(),
                },
                ..TestRunOptions::default()
            })
            .map_err(|source| DataplaneError::TestRun { name, source })?;
        out.truncate(if live {
            0
        } else {
            result.data_size_out as usize
        });
        Ok(TestRunOutcome {
            verdict: XdpVerdict::from(result.return_value),
            packet: out,
            duration_ns: u64::try_from(result.duration.as_nanos()).unwrap_or(u64::MAX),
        })
    }
}
