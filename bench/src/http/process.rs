//! A process the HTTP benchmark runs in the lb namespace (HAProxy, the agent), with its log
//! and files, stopped and cleaned up on drop.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use lb_testkit::{Netns, NsProcess};

/// A proxy process in the lb namespace with its log and files: stopped with SIGTERM (killed if
/// it does not exit), files removed, on drop.
pub struct Process {
    pub what: &'static str,
    process: NsProcess,
    log: PathBuf,
    files: Vec<PathBuf>,
}

impl Process {
    pub fn spawn(
        what: &'static str,
        ns: &Netns,
        program: &Path,
        args: &[&str],
        files: Vec<PathBuf>,
    ) -> anyhow::Result<Self> {
        let log = temp_file(&format!("{what}.log"));
        let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name()])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {what} ({})", program.display()))?;
        let mut files = files;
        files.push(log.clone());
        Ok(Self {
            what,
            process: NsProcess::from_child(child),
            log,
            files,
        })
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.child().try_wait().ok().flatten()
    }

    /// The end of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("{} log ({}):\n{tail}", self.what, self.log.display())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let pid = self.process.child().id();
            // SIGTERM first: the agent takes its data plane down on the way out.
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            if let Ok(pid) = libc::pid_t::try_from(pid)
                && unsafe { libc::kill(pid, libc::SIGTERM) } == 0
            {
                let deadline = Instant::now() + Duration::from_secs(5);
                while self.exited().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        // NsProcess's drop kills (if still running) and reaps it.
        for f in &self.files {
            if let Err(e) = std::fs::remove_file(f) {
                eprintln!("[bench] removing {}: {e}", f.display());
            }
        }
    }
}

pub fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lb-bench-{}-{name}", std::process::id()))
}
