//! Removal of private PostgreSQL servers that lb-api's tests left behind. A test's server
//! lives in `$TMPDIR/lb-pg-<test pid>-*` and is stopped by its RAII guard, also on panic; only
//! a test process killed outright (e.g. by the runner's timeout) leaves one running. Servers
//! whose test process is gone are stopped (immediate shutdown) and their directory removed;
//! those of a test still running are left alone.

use std::path::{Path, PathBuf};

/// Directories of servers whose test process no longer exists.
pub fn leftovers() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| owner_pid(p).is_some_and(|pid| !alive(&pid.to_string())))
        .collect()
}

/// Whether process `pid` runs (exists and is not a zombie nobody reaped).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// The test pid in `lb-pg-<pid>-<random>`.
fn owner_pid(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    name.strip_prefix("lb-pg-")?.split('-').next()?.parse().ok()
}

/// Stop each leftover server and remove its directory; reports what could not be removed.
pub fn sweep(dirs: &[PathBuf]) {
    for dir in dirs {
        let pid_file = dir.join("data/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().map(str::trim).map(str::to_owned))
            .filter(|pid| alive(pid))
        {
            // SIGQUIT: PostgreSQL's immediate shutdown.
            match std::process::Command::new("kill")
                .args(["-QUIT", &pid])
                .status()
            {
                Ok(s) if s.success() => wait_gone(&pid),
                Ok(s) => eprintln!("cleanup: kill -QUIT {pid} ({}): {s}", dir.display()),
                Err(e) => eprintln!("cleanup: cannot run kill: {e}"),
            }
        }
        if let Err(e) = std::fs::remove_dir_all(dir) {
            eprintln!("cleanup: removing {}: {e}", dir.display());
        }
    }
}

fn wait_gone(pid: &str) {
    for _ in 0..100 {
        if !alive(pid) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("cleanup: PostgreSQL {pid} still running after 5 s");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_of_dead_test_processes_are_leftovers() {
        assert_eq!(owner_pid(Path::new("/tmp/lb-pg-123-abc")), Some(123));
        assert_eq!(owner_pid(Path::new("/tmp/lb-pg-x-abc")), None);
        assert_eq!(owner_pid(Path::new("/tmp/other-123")), None);
        let mine = std::env::temp_dir().join(format!("lb-pg-{}-xtask-test", std::process::id()));
        std::fs::create_dir_all(&mine).unwrap();
        assert!(
            !leftovers().contains(&mine),
            "a live test's server was swept"
        );
        std::fs::remove_dir_all(&mine).unwrap();
    }
}
