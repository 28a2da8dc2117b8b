//! Sending a translated packet on: FIB lookup, then XDP redirect with the next hop's MACs; when
//! the neighbour is not resolved yet, hand the packet to `lb_tc_in` (marked in its Ethernet
//! addresses, `lb_common::nh_mark`), which uses `bpf_redirect_neigh` so the kernel resolves it.

use aya_ebpf::{
    bindings::{bpf_fib_lookup, xdp_action},
    helpers::{bpf_fib_lookup as fib_lookup, bpf_redirect},
    programs::XdpContext,
};
use lb_common::{addr::FAMILY_V4, drop::DropReason, nh_mark, stats::PacketClass};

use crate::{
    maps::LB_NH_MARK,
    mem,
    parse::{Cursor, Ip},
    scratch::{NextHop, Rewrite},
};

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const BPF_FIB_LKUP_RET_SUCCESS: i64 = 0;
const BPF_FIB_LKUP_RET_NO_NEIGH: i64 = 7;

/// What became of a translated packet.
pub struct Sent {
    pub action: u32,
    /// `Forwarded` when `forward` redirected with a next hop from the FIB (worth caching in
    /// the flow).
    pub class: PacketClass,
}

/// Sends a packet with the MACs and interface of a cached next hop (see
/// `FlowValue::nh_ifindex`), skipping the FIB lookup.
#[inline(always)]
pub fn to_next_hop(ctx: &XdpContext, nh: &NextHop) -> Result<Sent, DropReason> {
    let cursor = Cursor::new(ctx.data(), ctx.data_end());
    let eth = cursor.ptr_mut::<[u8; 12]>(0).ok_or(DropReason::FibFailed)?;
    // SAFETY: bounds checked by `ptr_mut`.
    unsafe { (*eth).copy_from_slice(&nh.mac) };
    Ok(Sent {
        action: send_to(ctx, nh.ifindex),
        class: PacketClass::Forwarded,
    })
}

/// Out through `ifindex`: XDP_TX when that is the interface the packet came in on (one-armed
/// setups, e.g. an amphora whose members sit behind its VIP-side interface: the frame leaves
/// through the receive path's own transmit queue, no device lookup, no cross-device bulk
/// queue), a redirect otherwise.
#[inline(always)]
pub fn send_to(ctx: &XdpContext, ifindex: u32) -> u32 {
    // SAFETY: the XDP context pointer is valid for the program's run.
    if ifindex == unsafe { (*ctx.ctx).ingress_ifindex } {
        return xdp_action::XDP_TX;
    }
    // SAFETY: plain helper call.
    unsafe { bpf_redirect(ifindex, 0) as u32 }
}

/// Routes a packet already rewritten to `to`. `via_stack`: even with a resolved next hop, send
/// it through `lb_tc_in` (the route's device may be one XDP cannot redirect into, a VLAN).
#[inline(never)]
pub fn forward(
    ctx: &XdpContext,
    ip: &Ip,
    to: &Rewrite,
    params: &mut bpf_fib_lookup,
    via_stack: bool,
) -> Result<Sent, DropReason> {
    // SAFETY: bpf_fib_lookup is plain data, 4-byte aligned, 64 bytes; all-zero is its documented
    // initial state. Cleared in place a word at a time (`write_bytes` would be a byte loop).
    unsafe { mem::zero(core::ptr::from_mut(params)) };
    params.l4_protocol = ip.proto;
    params.sport = to.sport;
    params.dport = to.dport;
    params.__bindgen_anon_1.tot_len = ip.tot_len;
    // SAFETY: the XDP context pointer is valid for the program's run.
    params.ifindex = unsafe { (*ctx.ctx).ingress_ifindex };
    if ip.family == FAMILY_V4 {
        params.family = AF_INET;
        params.__bindgen_anon_3.ipv4_src =
            u32::from_ne_bytes([to.src[0], to.src[1], to.src[2], to.src[3]]);
        params.__bindgen_anon_4.ipv4_dst =
            u32::from_ne_bytes([to.dst[0], to.dst[1], to.dst[2], to.dst[3]]);
    } else {
        params.family = AF_INET6;
        // SAFETY: the union fields are [u32; 4] of the same 16 bytes, in network order.
        unsafe {
            core::ptr::copy_nonoverlapping(
                to.src.as_ptr(),
                (&raw mut params.__bindgen_anon_3.ipv6_src).cast::<u8>(),
                16,
            );
            core::ptr::copy_nonoverlapping(
                to.dst.as_ptr(),
                (&raw mut params.__bindgen_anon_4.ipv6_dst).cast::<u8>(),
                16,
            );
        }
    }
    // SAFETY: valid context and params of the size passed.
    let rc = unsafe {
        fib_lookup(
            ctx.ctx.cast(),
            params,
            core::mem::size_of::<bpf_fib_lookup>() as i32,
            0,
        )
    };
    match rc {
        BPF_FIB_LKUP_RET_SUCCESS if !via_stack => {
            let cursor = Cursor::new(ctx.data(), ctx.data_end());
            let eth = cursor.ptr_mut::<[u8; 12]>(0).ok_or(DropReason::FibFailed)?;
            // SAFETY: bounds checked by `ptr_mut`.
            unsafe {
                let eth = &mut *eth;
                eth[..6].copy_from_slice(&params.dmac);
                eth[6..].copy_from_slice(&params.smac);
            }
            Ok(Sent {
                action: send_to(ctx, params.ifindex),
                class: PacketClass::Forwarded,
            })
        }
        BPF_FIB_LKUP_RET_SUCCESS | BPF_FIB_LKUP_RET_NO_NEIGH => {
            // The stack hands it to `lb_tc_in`, which reads the interface from the mark.
            let secret = LB_NH_MARK.get(0).copied().unwrap_or(0);
            let cursor = Cursor::new(ctx.data(), ctx.data_end());
            let eth = cursor.ptr_mut::<[u8; 12]>(0).ok_or(DropReason::FibFailed)?;
            // SAFETY: bounds checked by `ptr_mut`.
            unsafe { *eth = nh_mark::encode(secret, params.ifindex) };
            Ok(Sent {
                action: xdp_action::XDP_PASS,
                class: PacketClass::NeighFallback,
            })
        }
        _ => Err(DropReason::FibFailed),
    }
}
