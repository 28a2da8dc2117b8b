//! Entry points of the data plane. Each entry is thin: it calls a `try_*` function and counts
//! the outcome, a packet class on success or a [`DropReason`] on failure.
#![no_std]
#![no_main]

mod maps;
mod parse;
mod stats;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use lb_common::{drop::DropReason, stats::PacketClass};

use crate::parse::Cursor;

/// XDP entry on the VIP-side interface.
///
/// Today: parses L2/L3, drops malformed IP packets (counted by reason) and passes everything
/// else to the stack, counted by class. Balancing arrives with the L4 data plane.
#[xdp]
pub fn lb_xdp(ctx: XdpContext) -> u32 {
    let cursor = Cursor::new(ctx.data(), ctx.data_end());
    let len = cursor.len() as u64;
    match try_lb_xdp(&cursor) {
        Ok(class) => {
            stats::count_packet(class, len);
            xdp_action::XDP_PASS
        }
        Err(reason) => {
            stats::count_drop(reason, len);
            xdp_action::XDP_DROP
        }
    }
}

#[inline(always)]
fn try_lb_xdp(cursor: &Cursor) -> Result<PacketClass, DropReason> {
    let l3 = parse::ethernet(cursor)?;
    parse::l3(cursor, l3)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
