//! The benchmark traffic generator (`lb-gen`, a separate eBPF object): frames are injected
//! with BPF_PROG_TEST_RUN live frames, and before sending each one the generator rewrites its
//! headers: those of the template (flow 0), with the next flow's source address. Live frames
//! recycle their pages, so without the rewrite a data plane that translates frames in place
//! would be fed its own output.
//!
//! Flows are computed, not read from one template each: 10,000 templates of a cache line each
//! streamed through the CPU's caches with every round of frames, evicting the data plane's own
//! flow state — a cost no NIC puts on the CPU it delivers to.

use crate::{csum, pod};

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

/// Array of one `GenFrame`, the template: an Ethernet + IPv4 (no options) + TCP frame, flow 0.
/// Writer: benchmark; reader: `lb_gen`.
pub const GEN_TEMPLATES: &str = "LB_GEN_TPL";
/// Flows the generator can cycle through at most: flow `i`'s source address is the
/// template's plus `i` (the benchmark's template has `.1.0` in its low 16 bits).
pub const GEN_MAX: u32 = 16_384;
/// Array of one u32: how many flows the generator cycles through. Writer: benchmark.
pub const GEN_COUNT: &str = "LB_GEN_N";

/// Index of the frame's 8-byte word holding the IPv4 checksum (bytes 24–25), the source
/// address (26–29) and half the destination address.
pub const GEN_IP_WORD: usize = 3;
/// Index of the frame's 8-byte word holding the TCP checksum (bytes 50–51).
pub const GEN_TCP_WORD: usize = 6;

/// Flow `i` from the template's words [`GEN_IP_WORD`] and [`GEN_TCP_WORD`] (as loaded on a
/// little-endian machine): `i` added to the source address, both checksums adjusted (RFC 1624;
/// the TCP checksum covers the address through the pseudo-header).
#[inline(always)]
#[must_use]
pub fn flow_words(ip_word: u64, tcp_word: u64, i: u32) -> (u64, u64) {
    let saddr = (ip_word >> 16) as u32;
    let new_saddr = u32::from_be(saddr).wrapping_add(i).to_be();
    let delta = csum::fold64(csum::replace32(0, saddr, new_saddr));
    let adjust = |check: u16| csum::finish(csum::start(check) + delta);
    let ip_check = adjust(ip_word as u16);
    let tcp_check = adjust((tcp_word >> 16) as u16);
    (
        (ip_word & 0xffff_0000_0000_0000) | (u64::from(new_saddr) << 16) | u64::from(ip_check),
        (tcp_word & !0xffff_0000) | (u64::from(tcp_check) << 16),
    )
}
/// Name of the generator program.
pub const GEN_PROGRAM: &str = "lb_gen";
