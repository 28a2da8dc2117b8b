//! Test support: an app over a temporary SQLite file, request helpers, and bounded polling.

use std::time::Duration;

use axum::{Router, body::Body, http::Request};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::{AppState, config::Config};

/// An app over its own database.
pub struct TestApp {
    pub state: AppState,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Noop provider completing after `delay`.
    pub async fn with_delay(delay: Duration) -> Self {
        Self::with_config(Config {
            noop_delay: delay,
            ..Config::default()
        })
        .await
    }

    /// An app with these settings.
    pub async fn with_config(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let state = AppState::open(&url, config).await.unwrap();
        Self { state, _dir: dir }
    }

    /// With the controller as the driver (certificates made in the temporary directory).
    pub async fn controlled(
        tune: impl FnOnce(&mut crate::controller::ControllerConfig),
    ) -> (Self, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let certs = dir.path().join("certs");
        crate::certs::init(&certs).unwrap();
        let mut cc = crate::controller::ControllerConfig::new(&certs);
        tune(&mut cc);
        let state = AppState::open_controlled(&url, Config::default(), cc)
            .await
            .unwrap();
        (Self { state, _dir: dir }, certs)
    }

    /// Noop provider completing at once.
    pub async fn new() -> Self {
        Self::with_delay(Duration::ZERO).await
    }

    /// Noop provider that never completes within a test (to observe PENDING states).
    pub async fn frozen() -> Self {
        Self::with_delay(Duration::from_secs(3600)).await
    }

    pub fn router(&self) -> Router {
        crate::app(self.state.clone())
    }

    /// Send a request as `project` (None = no project header) and decode the JSON body.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        project: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "lb.test:9876");
        if let Some(p) = project {
            req = req.header("x-project-id", p);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }

    /// Send raw bytes as the body.
    pub async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        project: &str,
        body: &str,
    ) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-project-id", project)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Poll `uri` until `key.provisioning_status` is `want` (bounded: 5 s).
    pub async fn wait_status(&self, uri: &str, project: &str, key: &str, want: &str) -> Value {
        for _ in 0..500 {
            let (s, b) = self.call("GET", uri, Some(project), None).await;
            if s == 200 && b[key]["provisioning_status"] == want {
                return b[key].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{uri} never reached {want}");
    }

    /// Poll until GET `uri` answers 404 (bounded: 5 s).
    pub async fn wait_gone(&self, uri: &str, project: &str) {
        for _ in 0..500 {
            if self.call("GET", uri, Some(project), None).await.0 == 404 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{uri} never went away");
    }

    /// Create a shared network `private` with subnet `private-subnet` 10.0.0.0/24 as admin;
    /// returns the subnet id.
    pub async fn subnet(&self) -> String {
        let (s, n) = self
            .call(
                "POST",
                "/v2.0/networks",
                None,
                Some(
                    json!({"network": {"name": "private", "shared": true, "project_id": "admin"}}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{n}");
        let (s, sn) = self
            .call(
                "POST",
                "/v2.0/subnets",
                None,
                Some(
                    json!({"subnet": {"name": "private-subnet", "network_id": n["network"]["id"],
                    "cidr": "10.0.0.0/24", "ip_version": 4, "project_id": "admin"}}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{sn}");
        sn["subnet"]["id"].as_str().unwrap().to_owned()
    }

    /// Create an LB for `project` and wait until it is ACTIVE; returns its id.
    pub async fn active_lb(&self, project: &str, subnet: &str) -> String {
        let (s, b) = self
            .call(
                "POST",
                "/v2.0/lbaas/loadbalancers",
                Some(project),
                Some(json!({"loadbalancer": {"name": "lb1", "vip_subnet_id": subnet}})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let id = b["loadbalancer"]["id"].as_str().unwrap().to_owned();
        self.wait_status(
            &format!("/v2/lbaas/loadbalancers/{id}"),
            project,
            "loadbalancer",
            "ACTIVE",
        )
        .await;
        id
    }

    /// Complete whatever is pending under `lb` now, as the noop provider would (deterministic
    /// alternative to waiting, for apps made with [`TestApp::frozen`]).
    pub async fn settle(&self, lb: &str) {
        let _guard = self.state.lock.lock().await;
        crate::provider::noop::complete(&*self.state.store, lb)
            .await
            .unwrap();
    }

    /// POST `{key: body}` to `uri` as `project`, expect 201 and return the new id.
    pub async fn create(&self, uri: &str, project: &str, key: &str, body: Value) -> String {
        let (s, b) = self
            .call("POST", uri, Some(project), Some(json!({ key: body })))
            .await;
        assert_eq!(s, 201, "{uri}: {b}");
        b[key]["id"].as_str().unwrap().to_owned()
    }

    /// GET `uri` as `project`, expect 200 and return the object under `key`.
    pub async fn get(&self, uri: &str, project: &str, key: &str) -> Value {
        let (s, b) = self.call("GET", uri, Some(project), None).await;
        assert_eq!(s, 200, "{uri}: {b}");
        b[key].clone()
    }

    /// Frozen-app fixture: subnet, an LB of `project` and one listener, all settled ACTIVE.
    /// Returns (lb, listener).
    pub async fn lb_and_listener(
        &self,
        project: &str,
        protocol: &str,
        port: u16,
    ) -> (String, String) {
        let subnet = self.subnet().await;
        let lb = self
            .create(
                "/v2.0/lbaas/loadbalancers",
                project,
                "loadbalancer",
                json!({"vip_subnet_id": subnet}),
            )
            .await;
        self.settle(&lb).await;
        let listener = self
            .create(
                "/v2.0/lbaas/listeners",
                project,
                "listener",
                json!({"protocol": protocol, "protocol_port": port, "loadbalancer_id": lb}),
            )
            .await;
        self.settle(&lb).await;
        (lb, listener)
    }

    /// A pool from `body` (settled ACTIVE under `lb`); returns its id.
    pub async fn pool(&self, project: &str, lb: &str, body: Value) -> String {
        let id = self
            .create("/v2.0/lbaas/pools", project, "pool", body)
            .await;
        self.settle(lb).await;
        id
    }

    /// The LB's provisioning status.
    pub async fn lb_status(&self, lb: &str, project: &str) -> String {
        let v = self
            .get(
                &format!("/v2.0/lbaas/loadbalancers/{lb}"),
                project,
                "loadbalancer",
            )
            .await;
        v["provisioning_status"].as_str().unwrap().to_owned()
    }
}
