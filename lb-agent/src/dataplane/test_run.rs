//! Runs packets through the loaded XDP program with BPF_PROG_TEST_RUN: the kernel executes the
//! real verified program on a buffer, without any interface. Used by fixture tests and benches.

use aya::programs::{TestRun as _, TestRunOptions};
use lb_common::maps::XDP_PROGRAM;

use super::{Dataplane, loader::xdp_program};
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

impl Dataplane {
    /// Runs `packet` through the XDP program `repeat` times (at least once) and returns the
    /// verdict and output of the last run. The packet must be at least 14 bytes (an Ethernet
    /// header); the kernel refuses shorter input.
    pub fn test_run(
        &mut self,
        packet: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        let program = xdp_program(&mut self.ebpf)?;
        let mut out = vec![0u8; packet.len() + OUTPUT_HEADROOM];
        let opts = TestRunOptions {
            data_in: Some(packet),
            data_out: Some(&mut out),
            repeat: repeat.max(1),
            ..TestRunOptions::default()
        };
        let result = program
            .test_run(opts)
            .map_err(|source| DataplaneError::TestRun {
                name: XDP_PROGRAM,
                source,
            })?;
        out.truncate(result.data_size_out as usize);
        Ok(TestRunOutcome {
            verdict: XdpVerdict::from(result.return_value),
            packet: out,
            duration_ns: u64::try_from(result.duration.as_nanos()).unwrap_or(u64::MAX),
        })
    }
}
