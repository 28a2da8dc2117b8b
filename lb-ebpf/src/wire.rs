//! Packet fields at fixed offsets, one BPF load or store each. A `read_unaligned` compiles to
//! byte loads joined with shifts on BPF (LLVM assumes no misaligned access there), and a
//! misaligned `read_volatile` is undefined behaviour in Rust; the kernel allows misaligned
//! packet access, so the instructions are written out as inline assembly. Callers check the
//! bounds against `data_end` first, as the verifier requires.

/// Loads a `T` (1, 2 or 4 bytes) from packet memory at `base + OFF`, as one instruction.
#[inline(always)]
pub fn load<T: Word, const OFF: i16>(base: usize) -> T {
    T::load::<OFF>(base)
}

/// Stores a `T` into packet memory at `base + OFF` (see [`load`]).
#[inline(always)]
pub fn store<T: Word, const OFF: i16>(base: usize, value: T) {
    value.store::<OFF>(base);
}

/// The integer widths the packet is read and written in.
pub trait Word: Copy {
    fn load<const OFF: i16>(base: usize) -> Self;
    fn store<const OFF: i16>(self, base: usize);
}

macro_rules! word {
    ($ty:ty, $size:literal) => {
        impl Word for $ty {
            #[inline(always)]
            fn load<const OFF: i16>(base: usize) -> Self {
                let value: $ty;
                // SAFETY: every caller passes a `base` and offset inside the range it checked
                // against `data_end`; the instruction only reads those bytes.
                unsafe {
                    core::arch::asm!(
                        concat!("{v} = *(", $size, " *)({p} + {off})"),
                        v = lateout(reg) value,
                        p = in(reg) base,
                        off = const OFF,
                        options(readonly, nostack, preserves_flags),
                    );
                }
                value
            }

            #[inline(always)]
            fn store<const OFF: i16>(self, base: usize) {
                // SAFETY: as in `load`, for a write of those bytes.
                unsafe {
                    core::arch::asm!(
                        concat!("*(", $size, " *)({p} + {off}) = {v}"),
                        p = in(reg) base,
                        off = const OFF,
                        v = in(reg) self,
                        options(nostack, preserves_flags),
                    );
                }
            }
        }
    };
}
word!(u8, "u8");
word!(u16, "u16");
word!(u32, "u32");
