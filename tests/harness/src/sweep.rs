//! Removal of test-made objects: one at a time from `Drop`, and in bulk for what a killed test
//! process left behind (its pid, embedded in every name, is no longer alive).

use std::{path::Path, sync::Once};

use crate::{cmd, names, pin::BPFFS};

/// Kills what still runs in a namespace, then deletes it (its links go with it).
pub fn remove_netns(name: &str) {
    let pids = cmd::output("ip", &["netns", "pids", name]);
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        if let Ok(pid) = pid.parse::<i32>() {
            // SAFETY: kill(2) with a pid read from the namespace; errors (already gone) ignored
            // on purpose: the namespace deletion below is what matters.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    cmd::run_quiet("ip", &["netns", "del", name]);
}

/// Removes a pin directory and everything pinned in it.
pub fn remove_pin_dir(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("cleanup: remove {}: {e}", path.display());
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Harness objects currently present: (namespaces, pin dirs).
#[must_use]
pub fn leftovers() -> (Vec<String>, Vec<std::path::PathBuf>) {
    let netns: Vec<String> = std::fs::read_dir("/var/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(names::PREFIX))
        .collect();
    let pins = std::fs::read_dir(BPFFS)
        // Not mounted: whatever is there is an ordinary directory, no pins.
        .ok()
        .filter(|_| crate::pin::bpffs_mounted())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(names::PREFIX))
        .map(|e| e.path())
        .collect();
    (netns, pins)
}

/// Harness objects whose owning process is gone (what [`sweep`] with `only_dead` removes).
#[must_use]
pub fn dead_leftovers() -> (Vec<String>, Vec<std::path::PathBuf>) {
    let (netns, pins) = leftovers();
    let dead = |name: &str| names::owner_pid(name).is_none_or(|p| !pid_alive(p));
    (
        netns.into_iter().filter(|n| dead(n)).collect(),
        pins.into_iter()
            .filter(|p| dead(&p.file_name().unwrap_or_default().to_string_lossy()))
            .collect(),
    )
}

/// Removes harness objects. With `only_dead`, only those whose owning process is gone (safe
/// while other tests run); otherwise all of them (end of a suite). Returns how many went.
pub fn sweep(only_dead: bool) -> usize {
    let (netns, pins) = if only_dead {
        dead_leftovers()
    } else {
        leftovers()
    };
    for ns in &netns {
        remove_netns(ns);
    }
    for dir in &pins {
        remove_pin_dir(dir);
    }
    netns.len() + pins.len()
}

/// Unmounts the tests' bpffs (end of a suite), unless another suite running at the same time
/// still has pins there.
pub fn unmount_bpffs() {
    if !leftovers().1.is_empty() {
        return;
    }
    if crate::pin::bpffs_mounted() {
        cmd::run_quiet("umount", &[BPFFS]);
    }
    if let Err(e) = std::fs::remove_dir(BPFFS)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("cleanup: rmdir {BPFFS}: {e}");
    }
}

/// Sweeps the leftovers of dead processes, once per process.
pub fn stale_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let removed = sweep(true);
        if removed > 0 {
            eprintln!("lb-testkit: removed {removed} objects left by dead test processes");
        }
    });
}
