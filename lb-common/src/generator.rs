//! The benchmark traffic generator (`lb-gen`, a separate eBPF object): frames are injected
//! with BPF_PROG_TEST_RUN live frames, and before sending each one the generator rewrites its
//! headers from the next template. Live frames recycle their pages, so without the rewrite a
//! data plane that translates frames in place would be fed its own output.

use crate::pod;

/// Bytes of each frame the generator rewrites (Ethernet + IPv4 + TCP/UDP headers fit).
pub const GEN_HEADER: usize = 64;

/// One template: the first [`GEN_HEADER`] bytes of a frame (8-byte aligned: the generator
/// copies it a word at a time).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenFrame {
    pub bytes: [u8; GEN_HEADER],
}
const _: () = assert!(core::mem::size_of::<GenFrame>() == GEN_HEADER);
pod!(GenFrame);

impl Default for GenFrame {
    fn default() -> Self {
        Self {
            bytes: [0; GEN_HEADER],
        }
    }
}

/// Array of `GenFrame`, the templates. Writer: benchmark; reader: `lb_gen`.
pub const GEN_TEMPLATES: &str = "LB_GEN_TPL";
/// Templates the generator holds at most (flows of the many-flows figure).
pub const GEN_MAX: u32 = 16_384;
/// Array of one u32: how many templates are in use. Writer: benchmark.
pub const GEN_COUNT: &str = "LB_GEN_N";
/// Name of the generator program.
pub const GEN_PROGRAM: &str = "lb_gen";
