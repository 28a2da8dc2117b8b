//! A private directory on bpffs for pinned maps and programs, removed with its content on drop.
//!
//! Tests pin under their own bpffs mount, [`BPFFS`], not `/sys/fs/bpf`: a process started with
//! `ip netns exec` gets a fresh `/sys` in which `/sys/fs/bpf` is hidden, while a mount under
//! `/run` stays visible, so an agent run inside a test namespace sees the same pins as the test.

use std::path::{Path, PathBuf};

use crate::{cmd, names, sweep};

/// The bpffs mount of the tests.
pub const BPFFS: &str = "/run/lb-testkit-bpf";

/// `<BPFFS>/lbt-<pid>-<seq>-<label>/`, removed recursively on drop.
pub struct PinDir {
    path: PathBuf,
}

impl PinDir {
    /// Creates the directory, mounting bpffs first if the machine has not.
    #[must_use]
    pub fn new(label: &str) -> Self {
        sweep::stale_once();
        ensure_bpffs();
        let path = Path::new(BPFFS).join(names::unique(label));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        Self { path }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        sweep::remove_pin_dir(&self.path);
    }
}

/// Whether bpffs is mounted on [`BPFFS`].
#[must_use]
pub fn bpffs_mounted() -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(BPFFS) && l.contains(" bpf "))
}

/// Mounts bpffs on [`BPFFS`] unless it is already.
pub fn ensure_bpffs() {
    if !bpffs_mounted() {
        if let Err(e) = std::fs::create_dir_all(BPFFS) {
            panic!("mkdir {BPFFS}: {e}");
        }
        // Two tests may race to mount: a lost race is fine once the mount is there.
        let out = cmd::output("mount", &["-t", "bpf", "bpf", BPFFS]);
        assert!(
            out.status.success() || bpffs_mounted(),
            "mount bpffs on {BPFFS}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
