//! Inventory of the kernel maps: names and sizes, shared by `lb-ebpf` (which declares them) and
//! `lb-agent` (which opens them by name). The kernel keeps at most 15 bytes of a map name.

use crate::{drop::DropReason, stats::PacketClass};

/// Per-CPU array of `PacketCounter`, one slot per [`PacketClass`]. Writer: XDP; reader: agent.
pub const PKT_STATS: &str = "LB_PKT_STATS";
/// Entries of [`PKT_STATS`].
pub const PKT_STATS_SIZE: u32 = PacketClass::COUNT;

/// Per-CPU array of `PacketCounter`, one slot per [`DropReason`]. Writer: XDP; reader: agent.
pub const DROPS: &str = "LB_DROPS";
/// Entries of [`DROPS`].
pub const DROPS_SIZE: u32 = DropReason::COUNT;

/// Name of the XDP entry point in the object.
pub const XDP_PROGRAM: &str = "lb_xdp";

/// Every map name, for the length check and for pin clean-up.
pub const ALL_MAPS: [&str; 2] = [PKT_STATS, DROPS];

/// Longest map name the kernel stores without truncation.
pub const MAX_MAP_NAME: usize = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_names_fit_the_kernel_limit_and_are_prefixed() {
        for name in ALL_MAPS {
            assert!(
                name.len() <= MAX_MAP_NAME,
                "{name} is longer than {MAX_MAP_NAME} bytes"
            );
            assert!(name.starts_with("LB_"), "{name} lacks the LB_ prefix");
        }
    }

    #[test]
    fn program_name_fits_the_kernel_limit() {
        // BPF_OBJ_NAME_LEN is 16 including the NUL.
        assert!(XDP_PROGRAM.len() <= MAX_MAP_NAME);
    }
}
