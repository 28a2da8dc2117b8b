//! Shared by the CLI tests: the cached `openstack` CLI venv and a live `lb-api serve` (in the
//! root namespace or inside a test namespace) that the CLI is pointed at.

#![allow(
    dead_code,
    clippy::let_underscore_must_use,
    reason = "each test binary uses part of the helpers"
)]

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

pub mod amphora;
pub mod keystone;
#[path = "../../src/testpg.rs"]
pub mod testpg;

/// Which store `lb-api serve` runs on.
#[derive(Clone, Copy)]
pub enum Db {
    /// The embedded default: a SQLite file.
    Sqlite,
    /// A private PostgreSQL server started for this test.
    Postgres,
}

/// The CLI's venv, where `cargo xtask setup` puts it.
pub fn oscli() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let bin = cache.join("lb-xtask/oscli/bin/openstack");
    bin.is_file().then_some(bin)
}

pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `lb-api serve` on a free loopback port with a fresh database; killed on drop.
pub struct Api {
    child: Child,
    port: u16,
    extra: Vec<String>,
    log: bool,
    url: String,
    cli: PathBuf,
    /// Namespace the server and the CLI run in (`None`: the test's own).
    ns: Option<String>,
    /// Database URL.
    pub db: String,
    dir: tempfile::TempDir,
    /// The PostgreSQL server behind `db`, stopped after the API (fields drop in order).
    _pg: Option<testpg::PgServer>,
}

/// Where and how to start the server.
#[derive(Default)]
pub struct ApiArgs<'a> {
    /// Run inside this network namespace (`ip netns exec`).
    pub ns: Option<&'a str>,
    /// More `serve` arguments.
    pub extra: Vec<String>,
    /// Keep the server's log in `<dir>/lb-api.log` instead of discarding it.
    pub log: bool,
    /// Extra environment of the server.
    pub env: Vec<(String, String)>,
    /// Database URL and the server behind it (default: a SQLite file in the temp dir).
    pub db: Option<(String, Option<testpg::PgServer>)>,
}

fn command_in(ns: Option<&str>, program: &std::path::Path) -> Command {
    match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn spawn(
    ns: Option<&str>,
    port: u16,
    db: &str,
    extra: &[String],
    log: bool,
    env: &[(String, String)],
    dir: &std::path::Path,
) -> Child {
    let log = if log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("lb-api.log"))
            .expect("log file");
        Stdio::from(file)
    } else {
        Stdio::null()
    };
    let mut cmd = command_in(ns, std::path::Path::new(env!("CARGO_BIN_EXE_lb-api")));
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--db", db])
        .args(["--noauth-project", "demo"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start lb-api")
}

impl Api {
    /// The API with the noop provider on `store`, or `None` when that store is not installed
    /// (outside CI).
    pub fn start(cli: PathBuf, noop_delay_ms: u32, store: Db) -> Option<Self> {
        let db = match store {
            Db::Sqlite => None,
            Db::Postgres => {
                let pg = testpg::PgServer::start_or_skip("cli_cookbook on PostgreSQL")?;
                Some((pg.database("lbapi"), Some(pg)))
            }
        };
        Some(Self::start_with(
            cli,
            ApiArgs {
                extra: vec!["--noop-delay-ms".into(), noop_delay_ms.to_string()],
                db,
                ..ApiArgs::default()
            },
        ))
    }

    pub fn start_with(cli: PathBuf, args: ApiArgs<'_>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let (db, pg) = args.db.unwrap_or_else(|| {
            (
                format!("sqlite://{}", dir.path().join("lb.db").display()),
                None,
            )
        });
        let ns = args.ns.map(str::to_owned);
        let child = spawn(
            ns.as_deref(),
            port,
            &db,
            &args.extra,
            args.log,
            &args.env,
            dir.path(),
        );
        let mut api = Self {
            child,
            port,
            extra: args.extra,
            log: args.log,
            url: format!("http://127.0.0.1:{port}"),
            cli,
            ns,
            db,
            dir,
            _pg: pg,
        };
        api.wait_listening();
        api
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.listening(self.port) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("lb-api exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "lb-api did not listen on {}",
                self.url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the server again on the same port and database (after it died or was killed),
    /// with `env` added.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.kill();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.child = spawn(
            self.ns.as_deref(),
            self.port,
            &self.db,
            &self.extra,
            self.log,
            &env,
            self.dir.path(),
        );
        self.wait_listening();
    }

    /// Waits until the server exits by itself (e.g. at a crash point); false after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn listening(&self, port: u16) -> bool {
        match &self.ns {
            None => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            Some(ns) => Command::new("ip")
                .args(["netns", "exec", ns, "bash", "-c"])
                .arg(format!("exec 3<>/dev/tcp/127.0.0.1/{port}"))
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }

    /// The server's log (when started with `log: true`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("lb-api.log")).unwrap_or_default()
    }

    /// The temporary directory of this server (database, log).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Kills the server (as `kill -9`).
    pub fn kill(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("kill lb-api: {e}");
        }
        let _ = self.child.wait();
    }

    /// Runs `openstack ARGS` against this API with a clean OS_* environment.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = command_in(self.ns.as_deref(), &self.cli);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("OS_AUTH_TYPE", "none")
            .env("OS_ENDPOINT", &self.url)
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
            .args(args)
            .output()
            .expect("run the openstack CLI")
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`openstack {}` failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a `-f json` command that must succeed; returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.extend(["-f", "json"]);
        let out = self.ok(&full);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}): {out}", args.join(" ")))
    }

    /// Runs a command that must fail; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "`openstack {}` succeeded",
            args.join(" ")
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("cleanup: kill lb-api: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("cleanup: wait lb-api: {e}");
        }
    }
}

pub fn cli_or_skip() -> Option<PathBuf> {
    let cli = oscli();
    if cli.is_none() {
        assert!(
            !under_ci(),
            "the openstack CLI venv is missing: CI must run `cargo xtask setup`"
        );
        eprintln!("SKIPPED cli_cookbook: no openstack CLI venv; run `cargo xtask setup`");
    }
    cli
}
