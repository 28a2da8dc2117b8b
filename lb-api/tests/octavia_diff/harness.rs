//! The two servers under comparison, behind one call shape: Octavia's API in a Python child
//! (`octavia_driver.py`, JSON lines over stdin/stdout) and lb-api's router in-process over a
//! temporary SQLite file, its noop provider frozen so that PENDING states stay observable until
//! the script settles them (as the Octavia side does through its driver-updater).

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::PathBuf,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use axum::{body::Body, http::Request};
use http_body_util::BodyExt as _;
use lb_api::{
    AppState,
    config::Config,
    model::{common::Prov, loadbalancer::LoadBalancer},
    store::{self, Select, Store},
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// A request as both servers receive it.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub project: Option<&'a str>,
    /// `X-Roles`.
    pub roles: Option<&'a str>,
    pub body: Option<&'a Value>,
    /// Sent as is instead of `body` (malformed JSON).
    pub raw: Option<&'a str>,
}

/// The venv `cargo xtask setup` installs Octavia into.
pub fn octavia_python() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let bin = cache.join("lb-xtask/octavia/bin/python");
    bin.is_file().then_some(bin)
}

/// Octavia's API in a child process; killed on drop.
pub struct Octavia {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Octavia's log (stderr of the child), shown when something goes wrong.
    pub log: PathBuf,
}

impl Octavia {
    pub fn start(python: &std::path::Path, dir: &std::path::Path) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/octavia_diff/octavia_driver.py");
        let log = dir.join("octavia.log");
        let mut child = Command::new(python)
            .arg(&script)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("octavia log file"))
            .spawn()
            .expect("start octavia_driver.py");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
            log,
        }
    }

    fn exchange(&mut self, msg: &Value) -> Value {
        writeln!(self.stdin, "{msg}").expect("write to octavia_driver.py");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .expect("read octavia_driver.py");
        if n == 0 {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "octavia_driver.py exited while answering {msg}; its log ends:\n{}",
                tail.join("\n")
            );
        }
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad answer {line:?}: {e}"))
    }

    pub fn call(&mut self, req: &Req<'_>) -> (u16, Value) {
        let mut headers = serde_json::Map::new();
        if let Some(p) = req.project {
            headers.insert("X-Project-Id".into(), json!(p));
        }
        if let Some(r) = req.roles {
            headers.insert("X-Roles".into(), json!(r));
        }
        let body = match (req.raw, req.body) {
            (Some(raw), _) => json!(raw),
            (None, Some(b)) => b.clone(),
            (None, None) => Value::Null,
        };
        let answer = self.exchange(&json!({
            "method": req.method, "path": req.path, "headers": headers, "body": body,
        }));
        let status = answer["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .expect("status");
        (status, answer["body"].clone())
    }

    /// Report every pending object done (PENDING_DELETE → DELETED, others → ACTIVE).
    pub fn settle(&mut self) {
        let answer = self.exchange(&json!({"op": "settle"}));
        assert!(answer["settled"].is_u64(), "settle: {answer}");
    }
}

impl Drop for Octavia {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// lb-api in-process over its own SQLite file.
pub struct LbApi {
    state: AppState,
    rt: Arc<tokio::runtime::Runtime>,
}

impl LbApi {
    pub fn start(rt: Arc<tokio::runtime::Runtime>, dir: &std::path::Path) -> Self {
        let url = format!("sqlite://{}", dir.join("lb-api.db").display());
        let config = Config {
            // Frozen: the script completes changes itself with `settle`.
            noop_delay: Duration::from_secs(3600),
            ..Config::default()
        };
        let state = rt
            .block_on(AppState::open(&url, config))
            .expect("open lb-api store");
        Self { state, rt }
    }

    pub fn call(&self, req: &Req<'_>) -> (u16, Value) {
        let mut r = Request::builder()
            .method(req.method)
            .uri(req.path)
            .header("host", "lb.test:9876");
        if let Some(p) = req.project {
            r = r.header("x-project-id", p);
        }
        if let Some(roles) = req.roles {
            r = r.header("x-roles", roles);
        }
        let body = match (req.raw, req.body) {
            (Some(raw), _) => Some(raw.to_owned()),
            (None, Some(b)) => Some(b.to_string()),
            (None, None) => None,
        };
        let r = match body {
            Some(b) => r
                .header("content-type", "application/json")
                .body(Body::from(b)),
            None => r.body(Body::empty()),
        }
        .expect("request");
        let app = lb_api::app(self.state.clone());
        self.rt.block_on(async move {
            let resp = app.oneshot(r).await.expect("infallible");
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            let value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
            };
            (status, value)
        })
    }

    /// Complete every load balancer's pending work, as the noop provider would after its delay.
    pub fn settle(&self) {
        let store: Arc<dyn Store> = self.state.store.clone();
        self.rt.block_on(async move {
            let lbs: Vec<LoadBalancer> = store::list(&*store, &Select::all())
                .await
                .expect("list load balancers");
            for lb in lbs
                .iter()
                .filter(|lb| lb.c.provisioning_status != Prov::Deleted)
            {
                lb_api::provider::noop::complete(&*store, &lb.c.id)
                    .await
                    .expect("complete");
            }
        });
    }
}
