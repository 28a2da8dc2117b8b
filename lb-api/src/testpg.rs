//! Test support: a private PostgreSQL server (Debian's `postgresql` package) in a temporary
//! directory, on a free loopback port, with its socket inside that directory. [`PgServer`] is
//! an RAII guard: dropping it (also while a test panics) stops the server and removes the
//! directory. Used by the store tests and by the CLI cookbook (`tests/cli_cookbook.rs` includes
//! this file with `#[path]`), so it depends on nothing but std and `tempfile`.
//!
//! `initdb` refuses to run as root; as root the server runs as the `postgres` user (or
//! `nobody`), which owns the temporary directory. Without PostgreSQL installed a test skips
//! loudly, except under CI (`CI=true`/`CI=1`), where it fails: `cargo xtask setup` installs it.

#![allow(dead_code, reason = "each including crate uses a different part")]

use std::{
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// A running PostgreSQL server; stopped and deleted on drop.
pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
    dir: tempfile::TempDir,
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout), else wherever `initdb` is on PATH.
pub fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

/// (uid, gid) of the first of `names` in /etc/passwd.
fn account(names: &[&str]) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    names.iter().find_map(|name| {
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == *name)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
    })
}

fn is_root() -> bool {
    // The real uid of this process: /proc/self/status "Uid:\t<real>\t<effective>...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free loopback port")
        .port()
}

impl PgServer {
    /// Start a server, or skip (`None`, with a message) when PostgreSQL is not installed;
    /// under CI a missing PostgreSQL fails the test instead.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let Some(bin) = pg_bin() else {
            assert!(
                !under_ci(),
                "{test}: PostgreSQL (initdb, pg_ctl) is missing and CI must run this test: \
                 run `cargo xtask setup` (installs Debian's postgresql)"
            );
            eprintln!(
                "SKIPPED {test}: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); \
                 run `cargo xtask setup`"
            );
            return None;
        };
        Some(Self::start(bin))
    }

    /// Start a server with the binaries in `bin`; panics with the server's log on failure.
    pub fn start(bin: PathBuf) -> Self {
        // `lb-pg-<pid>-`: `cargo xtask test` stops servers whose test process was killed.
        let dir = tempfile::Builder::new()
            .prefix(&format!("lb-pg-{}-", std::process::id()))
            .tempdir()
            .expect("temp dir");
        let user = if is_root() {
            let user = account(&["postgres", "nobody"])
                .expect("running as root, and neither `postgres` nor `nobody` exists");
            std::os::unix::fs::chown(dir.path(), Some(user.0), Some(user.1))
                .expect("chown the PostgreSQL temp dir");
            Some(user)
        } else {
            None
        };
        let mut server = Self {
            data: dir.path().join("data"),
            bin,
            port: 0,
            user,
            dir,
        };
        let data = server.data.clone();
        server.must(
            "initdb",
            server
                .cmd("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "lbtest", "-A", "trust", "-E", "UTF8", "--no-locale"])
                .arg("--no-sync"),
        );
        // A port can be taken between probing and binding; try a few.
        for attempt in 0..5 {
            server.port = free_port();
            let options = format!(
                "-p {} -k {} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off",
                server.port,
                server.dir.path().display()
            );
            let out = server
                .cmd("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.dir.path().join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"])
                .output()
                .expect("run pg_ctl");
            if out.status.success() {
                return server;
            }
            if attempt == 4 {
                panic!(
                    "pg_ctl start failed: {}\n{}\nserver log:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    server.log()
                );
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// A command from the PostgreSQL bin dir, run as the server's user.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            c.uid(uid).gid(gid);
        }
        c.current_dir(self.dir.path());
        c
    }

    fn must(&self, what: &str, cmd: &mut Command) -> Output {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory (data, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// URL of a new, empty database `name` (created here with `createdb`).
    pub fn database(&self, name: &str) -> String {
        self.must(
            "createdb",
            self.cmd("createdb")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "lbtest", name]),
        );
        format!("postgres://lbtest@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let stopped = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .output();
        match stopped {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "cleanup: pg_ctl stop failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("cleanup: cannot run pg_ctl stop: {e}"),
        }
        // The TempDir field removes the directory after this.
    }
}
