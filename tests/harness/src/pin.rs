//! A private directory on bpffs for pinned maps and programs, removed with its content on drop.

use std::path::{Path, PathBuf};

use crate::{cmd, names, sweep};

/// Where bpffs is mounted.
pub const BPFFS: &str = "/sys/fs/bpf";

/// `/sys/fs/bpf/lbt-<pid>-<seq>-<label>/`, removed recursively on drop.
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

/// Mounts bpffs on [`BPFFS`] unless it is already.
pub fn ensure_bpffs() {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mounted = mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(BPFFS) && l.contains(" bpf "));
    if !mounted {
        cmd::run("mount", &["-t", "bpf", "bpf", BPFFS]);
    }
}
