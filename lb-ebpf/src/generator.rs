//! `lb-gen`: the benchmark traffic generator (a separate object from the data plane). Run with
//! BPF_PROG_TEST_RUN live frames: each frame gets the headers of the template in `LB_GEN_TPL`
//! with the source address of the next flow (a per-CPU cursor cycles over `LB_GEN_N` of them;
//! see `lb_common::generator`) and is sent with XDP_TX.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{Array, PerCpuArray},
    programs::XdpContext,
};
use lb_common::generator::{GEN_HEADER, GEN_IP_WORD, GEN_TCP_WORD, GenFrame, flow_words};

/// The template (flow 0). Writer: benchmark.
#[map]
static LB_GEN_TPL: Array<GenFrame> = Array::with_max_entries(1, 0);

/// Flows to cycle through (entry 0). Writer: benchmark.
#[map]
static LB_GEN_N: Array<u32> = Array::with_max_entries(1, 0);

/// Cursor per CPU.
#[map]
static LB_GEN_POS: PerCpuArray<u32> = PerCpuArray::with_max_entries(1, 0);

#[xdp]
pub fn lb_gen(ctx: XdpContext) -> u32 {
    let (start, end) = (ctx.data(), ctx.data_end());
    if start + GEN_HEADER > end {
        return xdp_action::XDP_ABORTED;
    }
    let n = LB_GEN_N.get(0).copied().unwrap_or(0);
    let Some(pos) = LB_GEN_POS.get_ptr_mut(0) else {
        return xdp_action::XDP_ABORTED;
    };
    if n == 0 {
        return xdp_action::XDP_ABORTED;
    }
    // SAFETY: per-CPU cell from a successful lookup; only this CPU touches it.
    let idx = unsafe {
        let idx = *pos % n;
        *pos = idx + 1;
        idx
    };
    let Some(template) = LB_GEN_TPL.get(0) else {
        return xdp_action::XDP_ABORTED;
    };
    // Word by word: a plain assignment would be a byte-at-a-time `memmove` call on BPF, and
    // the generator's cost is part of every rate the benchmark reports. Live test-run frames
    // start 256 bytes (XDP_PACKET_HEADROOM) into their page, so `start` is 8-byte aligned (the
    // verifier allows no test of a packet pointer's low bits).
    let (d, s) = (
        start as *mut u64,
        core::ptr::from_ref(template).cast::<u64>(),
    );
    // SAFETY: the template is an 8-byte aligned map value of GEN_HEADER bytes.
    let (ip_word, tcp_word) = unsafe {
        flow_words(
            read_volatile(s.add(GEN_IP_WORD)),
            read_volatile(s.add(GEN_TCP_WORD)),
            idx,
        )
    };
    let mut i = 0;
    while i < GEN_HEADER / 8 {
        // SAFETY: [start, start + GEN_HEADER) lies inside the packet (checked), 8-byte aligned
        // as said above; the template is an 8-byte aligned map value of GEN_HEADER bytes.
        unsafe {
            let word = match i {
                GEN_IP_WORD => ip_word,
                GEN_TCP_WORD => tcp_word,
                _ => read_volatile(s.add(i)),
            };
            write_volatile(d.add(i), word);
        }
        i += 1;
    }
    xdp_action::XDP_TX
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
