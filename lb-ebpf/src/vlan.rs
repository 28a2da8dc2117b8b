//! 802.1Q / 802.1ad tags of balanced packets. Tagged client packets are balanced like untagged
//! ones; after translation their tags are popped (`bpf_xdp_adjust_head`), so members always
//! see untagged frames. Replies of such flows leave through `lb_tc_in` (`bpf_redirect_neigh`
//! to the route's VLAN device, which pushes the tag again): XDP cannot redirect into a VLAN
//! device.

use aya_ebpf::{helpers::bpf_xdp_adjust_head, programs::XdpContext};
use lb_common::drop::DropReason;

use crate::parse::Cursor;

const ETH_HLEN: usize = 14;
const MAC_LEN: usize = 12;

/// Removes the tags between the MAC addresses and the network header at `l3_off` (one or two
/// tags: `l3_off` is 18 or 22).
#[inline(never)]
pub fn pop(ctx: &XdpContext, l3_off: usize) -> Result<(), DropReason> {
    let tags = (l3_off - ETH_HLEN) & 0xf;
    let cursor = Cursor::new(ctx.data(), ctx.data_end());
    let from = cursor
        .ptr_at::<[u8; MAC_LEN]>(0)
        .ok_or(DropReason::TruncatedVlan)?;
    let to = cursor
        .ptr_mut::<[u8; MAC_LEN]>(tags)
        .ok_or(DropReason::TruncatedVlan)?;
    // SAFETY: both ranges lie inside the packet (checked by the cursor); the MACs are read
    // whole before the (overlapping) write.
    unsafe {
        let macs = *from;
        *to = macs;
    }
    // SAFETY: valid context; shrinking the head by the tags' length stays inside the frame.
    if unsafe { bpf_xdp_adjust_head(ctx.ctx, tags as i32) } != 0 {
        return Err(DropReason::TruncatedVlan);
    }
    Ok(())
}
