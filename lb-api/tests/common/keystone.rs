//! A real Keystone for the `keystone_auth` test: keystone 26 from the venv `cargo xtask setup`
//! installs, served by waitress on a private loopback port with an SQLite database in a temp
//! dir, and the identity calls the test makes (projects, users, role grants, catalog entries,
//! password tokens) over Keystone's own REST API (the `openstack` CLI would cost 2–4 s of
//! Python start-up per call).
//!
//! SQLite: after a request, some connection in Keystone's pool still holds a read transaction,
//! so in SQLite's default rollback-journal mode the next write cannot commit and fails with
//! `database is locked` when the busy timeout runs out (seen on the second `user create`). The
//! database is switched to WAL before serving, where readers never block a writer's commit;
//! waitress serves on one thread, so Keystone never writes from two threads at once.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// The bootstrap admin's password (user `admin`, project `admin`).
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// The Keystone venv, where `cargo xtask setup` puts it.
pub fn venv() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let venv = cache.join("lb-xtask/keystone");
    venv.join("bin/keystone-manage").is_file().then_some(venv)
}

/// Run `cmd` to success; its stdout.
pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(status, body)` of an HTTP request made with curl.
pub fn curl(url: &str, method: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let (status, _, body) = curl_full(url, method, token, body);
    (status, body)
}

/// `(status, response headers, body)` of an HTTP request made with curl.
fn curl_full(
    url: &str,
    method: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-D", "-", "-X", method, "-w", "\n%{http_code}", url])
        .args(["-H", "Content-Type: application/json"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("X-Auth-Token: {t}")]);
    }
    if let Some(b) = body {
        cmd.args(["-d", &b.to_string()]);
    }
    let out = cmd.output().expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (rest, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    let (headers, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
    let status = code.trim().parse().unwrap_or(0);
    (
        status,
        headers.to_owned(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// A Keystone on a private port; killed and its directory removed on drop.
pub struct Keystone {
    child: Child,
    /// The identity endpoint, `http://127.0.0.1:<port>/v3`.
    pub url: String,
    dir: tempfile::TempDir,
    admin: String,
}

impl Keystone {
    /// Set up a database, key repositories and the bootstrap admin; serve; wait until it
    /// answers (bounded: 30 s).
    pub fn start(venv: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url = format!("http://127.0.0.1:{port}/v3");
        let conf = d.join("keystone.conf");
        let db = d.join("keystone.db");
        std::fs::write(
            &conf,
            format!(
                "[DEFAULT]\nlog_file = {d}/keystone.log\n[database]\nconnection = sqlite:///{db}?timeout=20\n\
                 [fernet_tokens]\nkey_repository = {d}/fernet\n[credential]\nkey_repository = \
                 {d}/credential\n[token]\nprovider = fernet\n",
                d = d.display(),
                db = db.display()
            ),
        )
        .expect("keystone.conf");
        let manage = |args: &[&str]| {
            let mut cmd = Command::new(venv.join("bin/keystone-manage"));
            cmd.arg("--config-file").arg(&conf).args(args);
            cmd
        };
        // The key repositories do not touch the database: set them up while it is created.
        let owner = ["--keystone-user", "root", "--keystone-group", "root"];
        let keys: Vec<(String, Child)> = ["fernet_setup", "credential_setup"]
            .into_iter()
            .map(|what| {
                let child = manage(&[&[what][..], &owner].concat())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("keystone-manage {what}: {e}"));
                (what.to_owned(), child)
            })
            .collect();
        run_ok(&mut manage(&["db_sync"]), "keystone-manage db_sync");
        for (what, child) in keys {
            let out = child.wait_with_output().expect("keystone-manage");
            assert!(
                out.status.success(),
                "keystone-manage {what} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        run_ok(
            &mut manage(&[
                "bootstrap",
                "--bootstrap-password",
                ADMIN_PASSWORD,
                "--bootstrap-public-url",
                &url,
                "--bootstrap-region-id",
                "RegionOne",
            ]),
            "keystone-manage bootstrap",
        );
        run_ok(
            Command::new(venv.join("bin/python")).args([
                "-c",
                "import sqlite3, sys\n\
                 mode = sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL').fetchone()[0]\n\
                 assert mode == 'wal', mode",
                &db.display().to_string(),
            ]),
            "switch keystone.db to WAL",
        );
        // oslo.config parses sys.argv, so the WSGI app cannot run under `waitress-serve` with
        // arguments: serve it from a one-line script with an empty argv instead.
        let log = std::fs::File::create(d.join("waitress.log")).expect("log");
        let child = Command::new(venv.join("bin/python"))
            .arg("-c")
            .arg(format!(
                "import sys; sys.argv = sys.argv[:1]\nimport waitress\n\
                 from keystone.server.wsgi import initialize_public_application as app\n\
                 waitress.serve(app(), host='127.0.0.1', port={port}, threads=1)"
            ))
            .env("OS_KEYSTONE_CONFIG_FILES", &conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keystone");
        let mut ks = Self {
            child,
            url,
            dir,
            admin: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while curl(&ks.url, "GET", None, None).0 != 200 {
            if let Ok(Some(status)) = ks.child.try_wait() {
                panic!("keystone exited ({status}):\n{}", ks.log());
            }
            assert!(
                Instant::now() < deadline,
                "keystone did not start:\n{}",
                ks.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        ks.admin = ks.token("admin", ADMIN_PASSWORD, "admin");
        ks
    }

    /// waitress's and Keystone's logs.
    pub fn log(&self) -> String {
        ["waitress.log", "keystone.log"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(self.dir.path().join(f)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A project-scoped token for `user` (domain `Default`), as `token issue` gets it.
    pub fn token(&self, user: &str, password: &str, project: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}});
        let (s, headers, b) = curl_full(
            &format!("{}/auth/tokens", self.url),
            "POST",
            None,
            Some(&body),
        );
        assert_eq!(s, 201, "token for {user}: {b}\n{}", self.log());
        headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("x-subject-token")
                    .then(|| v.trim().to_owned())
            })
            .expect("X-Subject-Token header")
    }

    /// POST `{key: body}` to `path` as the bootstrap admin; the new object's id.
    pub fn create(&self, path: &str, key: &str, body: Value) -> String {
        let (s, b) = curl(
            &format!("{}{path}", self.url),
            "POST",
            Some(&self.admin),
            Some(&json!({ key: body })),
        );
        assert_eq!(s, 201, "POST {path}: {b}\n{}", self.log());
        b[key]["id"].as_str().expect("id").to_owned()
    }

    /// The id of the role named `name`.
    pub fn role(&self, name: &str) -> String {
        let (s, b) = curl(
            &format!("{}/roles?name={name}", self.url),
            "GET",
            Some(&self.admin),
            None,
        );
        assert_eq!(s, 200, "{b}");
        b["roles"][0]["id"].as_str().expect("role id").to_owned()
    }

    /// A user `name` with `role` on `project` (ids); the user's id.
    pub fn user(&self, name: &str, password: &str, project: &str, role: &str) -> String {
        let user = self.create(
            "/users",
            "user",
            json!({"name": name, "password": password, "domain_id": "default"}),
        );
        let (s, b) = curl(
            &format!("{}/projects/{project}/users/{user}/roles/{role}", self.url),
            "PUT",
            Some(&self.admin),
            None,
        );
        assert_eq!(s, 204, "grant {name}: {b}");
        user
    }

    /// Register `url` as the public `load-balancer` endpoint in RegionOne, and as the
    /// `network` one (lb-api serves its network registry on the same root; the CLI's
    /// load-balancer plugin wants both).
    pub fn catalog_entries(&self, url: &str) {
        for (name, kind) in [("octavia", "load-balancer"), ("neutron", "network")] {
            let service = self.create("/services", "service", json!({"name": name, "type": kind}));
            self.create(
                "/endpoints",
                "endpoint",
                json!({"service_id": service, "interface": "public", "region_id": "RegionOne",
                       "url": url}),
            );
        }
    }
}

impl Drop for Keystone {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let errors: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains("ERROR") && (l.contains("Error:") || l.contains("Exception:"))
                })
                .collect();
            eprintln!(
                "keystone errors:\n{}",
                errors[errors.len().saturating_sub(15)..].join("\n")
            );
        }
        if let Err(e) = self.child.kill() {
            eprintln!("cleanup: kill keystone: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("cleanup: wait keystone: {e}");
        }
    }
}
