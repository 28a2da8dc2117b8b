//! Word-wise copies and clears of fixed-size fields. On BPF, LLVM leaves `memmove` and
//! `memset` to a library routine that moves one byte per loop iteration (~6 instructions a
//! byte), and it turns plain assignments of byte arrays into such calls whenever it cannot prove
//! the two sides apart. Volatile word accesses are never merged or turned back into calls.

use core::ptr::{read_volatile, write_volatile};

use lb_common::flow::{FlowKey, FlowValue};

use crate::scratch::Rewrite;

/// `r` := the rewrite of flow entry `v`.
#[inline(always)]
pub fn rewrite_from(r: &mut Rewrite, v: &FlowValue) {
    // SAFETY: address fields of `Rewrite` and `FlowValue`, both 4-byte aligned types with the
    // addresses at word offsets (asserted in lb-common and below).
    unsafe {
        copy_addr(&raw mut r.src, &raw const v.new_src);
        copy_addr(&raw mut r.dst, &raw const v.new_dst);
    }
    r.sport = v.new_sport;
    r.dport = v.new_dport;
}

/// `k` := the key of the opposite direction's entry of a flow: the packet that `(src, dst,
/// sport, dport)` is rewritten to, seen from the other side.
#[inline(always)]
pub fn reversed_key(k: &mut FlowKey, to: &Rewrite, proto: u8, family: u8) {
    // SAFETY: as in `rewrite_from`; `proto` starts `FlowKey`'s last word.
    unsafe {
        copy_addr(&raw mut k.src, &raw const to.dst);
        copy_addr(&raw mut k.dst, &raw const to.src);
        set_word(&raw mut k.proto, [proto, family, 0, 0]);
    }
    k.sport = to.dport;
    k.dport = to.sport;
}

const _: () = assert!(core::mem::align_of::<Rewrite>() >= 4);
const _: () = assert!(core::mem::offset_of!(Rewrite, dst) % 4 == 0);
const _: () = assert!(core::mem::offset_of!(FlowKey, proto) % 4 == 0);

/// Copies a 16-byte address as four 32-bit words.
///
/// # Safety
/// `dst` and `src` are valid and 4-byte aligned: every address field of the shared map types
/// is (lb-common asserts their alignment and offsets), and so is `Rewrite`'s.
#[inline(always)]
pub unsafe fn copy_addr(dst: *mut [u8; 16], src: *const [u8; 16]) {
    let (d, s) = (dst.cast::<u32>(), src.cast::<u32>());
    // SAFETY: the caller guarantees four aligned, valid words on both sides.
    unsafe {
        write_volatile(d, read_volatile(s));
        write_volatile(d.add(1), read_volatile(s.add(1)));
        write_volatile(d.add(2), read_volatile(s.add(2)));
        write_volatile(d.add(3), read_volatile(s.add(3)));
    }
}

/// Copies a next hop's 12 MAC bytes as three 32-bit words.
///
/// # Safety
/// `dst` and `src` are valid and 4-byte aligned (`FlowValue::nh_mac` and `NextHop::mac`
/// are: asserted in lb-common and `scratch`).
#[inline(always)]
pub unsafe fn copy_mac_pair(dst: *mut [u8; 12], src: *const [u8; 12]) {
    let (d, s) = (dst.cast::<u32>(), src.cast::<u32>());
    // SAFETY: the caller guarantees three aligned, valid words on both sides.
    unsafe {
        write_volatile(d, read_volatile(s));
        write_volatile(d.add(1), read_volatile(s.add(1)));
        write_volatile(d.add(2), read_volatile(s.add(2)));
    }
}

/// The three 32-bit words of a 12-byte MAC pair.
///
/// # Safety
/// As for [`copy_mac_pair`]: `src` is valid and 4-byte aligned.
#[inline(always)]
pub unsafe fn mac_words(src: *const [u8; 12]) -> [u32; 3] {
    let s = src.cast::<u32>();
    // SAFETY: the caller guarantees three aligned, valid words.
    unsafe {
        [
            read_volatile(s),
            read_volatile(s.add(1)),
            read_volatile(s.add(2)),
        ]
    }
}

/// The four 32-bit words of a 16-byte address.
///
/// # Safety
/// As for [`copy_addr`]: `src` is valid and 4-byte aligned.
#[inline(always)]
pub unsafe fn words(src: *const [u8; 16]) -> [u32; 4] {
    let s = src.cast::<u32>();
    // SAFETY: the caller guarantees four aligned, valid words.
    unsafe {
        [
            read_volatile(s),
            read_volatile(s.add(1)),
            read_volatile(s.add(2)),
            read_volatile(s.add(3)),
        ]
    }
}

/// The first 32-bit word of a 16-byte address (an IPv4 address in the 16-byte map form).
///
/// # Safety
/// As for [`copy_addr`]: `src` is valid and 4-byte aligned.
#[inline(always)]
pub unsafe fn first_word(src: *const [u8; 16]) -> u32 {
    // SAFETY: the caller guarantees an aligned, valid word.
    unsafe { read_volatile(src.cast::<u32>()) }
}

/// Stores a 16-byte address whose first word is `first` and the rest zero (an IPv4 address in
/// the 16-byte map form).
///
/// # Safety
/// As for [`copy_addr`]: `dst` is valid and 4-byte aligned.
#[inline(always)]
pub unsafe fn set_v4_addr(dst: *mut [u8; 16], first: u32) {
    let d = dst.cast::<u32>();
    // SAFETY: the caller guarantees four aligned, valid words.
    unsafe {
        write_volatile(d, first);
        write_volatile(d.add(1), 0);
        write_volatile(d.add(2), 0);
        write_volatile(d.add(3), 0);
    }
}

/// Zeroes a value of `T` one 32-bit word at a time.
///
/// # Safety
/// `p` is valid for writes and 4-byte aligned; `T`'s size is a multiple of 4 (checked at
/// compile time) and all-zero is a valid `T`.
#[inline(always)]
pub unsafe fn zero<T>(p: *mut T) {
    const { assert!(core::mem::size_of::<T>() % 4 == 0) };
    let words = core::mem::size_of::<T>() / 4;
    let d = p.cast::<u32>();
    let mut i = 0;
    while i < words {
        // SAFETY: i < size_of::<T>() / 4 words, inside `*p`, aligned by the caller.
        unsafe { write_volatile(d.add(i), 0) };
        i += 1;
    }
}

/// Stores four bytes as one 32-bit word (e.g. `proto, family, 0, 0` at the end of a key: one
/// store instead of a byte store and a `memset` call for the padding).
///
/// # Safety
/// `p` is valid for four bytes of writes and 4-byte aligned.
#[inline(always)]
pub unsafe fn set_word(p: *mut u8, bytes: [u8; 4]) {
    // SAFETY: the caller guarantees an aligned, valid word.
    unsafe { write_volatile(p.cast::<u32>(), u32::from_ne_bytes(bytes)) };
}
