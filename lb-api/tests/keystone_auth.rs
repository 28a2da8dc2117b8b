//! `lb-api serve --auth keystone` against a real Keystone (see [`common::keystone`]): real
//! Fernet tokens for users of two projects with Keystone's default roles, checked for what a
//! user would notice (own objects visible, other projects' objects and quotas not, readers
//! cannot change anything, bad tokens are 401), and the real `openstack` CLI finding lb-api
//! through Keystone's catalog.

mod common;

use std::{path::Path, process::Command};

use common::{
    Api, ApiArgs,
    keystone::{ADMIN_PASSWORD, Keystone, curl, run_ok},
    oscli, under_ci,
};
use serde_json::{Value, json};

const PASSWORD: &str = "user-secret";

/// The `openstack` CLI with password auth as `user` in `project`.
struct Os<'a> {
    cli: &'a Path,
    auth_url: &'a str,
    user: &'a str,
    password: &'a str,
    project: &'a str,
}

impl Os<'_> {
    fn run(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(self.cli);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("OS_AUTH_URL", self.auth_url)
            .env("OS_IDENTITY_API_VERSION", "3")
            .env("OS_AUTH_TYPE", "password")
            .env("OS_USERNAME", self.user)
            .env("OS_PASSWORD", self.password)
            .env("OS_PROJECT_NAME", self.project)
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_PROJECT_DOMAIN_NAME", "Default")
            .env("OS_REGION_NAME", "RegionOne")
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
            .args(args);
        run_ok(&mut cmd, &format!("openstack {}", args.join(" ")))
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["-f", "json"]].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON ({e}): {out}"))
    }
}

#[test]
fn keystone_tokens_scope_and_roles() {
    let (Some(venv), Some(cli)) = (common::keystone::venv(), oscli()) else {
        assert!(
            !under_ci(),
            "the Keystone or openstack CLI venv is missing: CI must run `cargo xtask setup`"
        );
        eprintln!("SKIPPED keystone_auth: no Keystone/openstack CLI venv; run `cargo xtask setup`");
        return;
    };
    let ks = Keystone::start(&venv);
    let api = Api::start_with(
        cli.clone(),
        ApiArgs {
            extra: vec![
                "--auth".into(),
                "keystone".into(),
                "--keystone-url".into(),
                ks.url.clone(),
                "--noop-delay-ms".into(),
                "50".into(),
            ],
            log: true,
            ..ApiArgs::default()
        },
    );
    let alpha_id = ks.create(
        "/projects",
        "project",
        json!({"name": "alpha", "domain_id": "default"}),
    );
    let beta_id = ks.create(
        "/projects",
        "project",
        json!({"name": "beta", "domain_id": "default"}),
    );
    let (member, reader) = (ks.role("member"), ks.role("reader"));
    ks.user("alice", PASSWORD, &alpha_id, &member);
    ks.user("bob", PASSWORD, &beta_id, &member);
    ks.user("rita", PASSWORD, &alpha_id, &reader);
    // Octavia's quota admin role is no Keystone default: made here, as an operator would.
    let quota_admin = ks.create(
        "/roles",
        "role",
        json!({"name": "load-balancer_quota_admin"}),
    );
    ks.user("quinn", PASSWORD, &beta_id, &quota_admin);
    // The CLI finds Octavia (and the network registry) through the catalog.
    ks.catalog_entries(api.url());
    let (t_admin, t_alice, t_bob, t_rita, t_quinn) = (
        ks.token("admin", ADMIN_PASSWORD, "admin"),
        ks.token("alice", PASSWORD, "alpha"),
        ks.token("bob", PASSWORD, "beta"),
        ks.token("rita", PASSWORD, "alpha"),
        ks.token("quinn", PASSWORD, "beta"),
    );
    let url = |path: &str| format!("{}{path}", api.url());
    let lbs = url("/v2/lbaas/loadbalancers");

    // 401 without a token and with a bad one, keystonemiddleware's body.
    let (s, b) = curl(&lbs, "GET", None, None);
    assert_eq!((s, &b["error"]["code"]), (401, &json!(401)), "{b}");
    assert_eq!(curl(&lbs, "GET", Some("not-a-token"), None).0, 401);
    // A real token, one character changed, is no token. A middle character: every bit of it
    // counts (the last character of unpadded base64 can carry unused bits, and changing only
    // those leaves the same token).
    let mut chars: Vec<char> = t_alice.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    assert_eq!(curl(&lbs, "GET", Some(&forged), None).0, 401);
    // The version document needs no token.
    assert_eq!(curl(&url("/"), "GET", None, None).0, 200);

    // alice (member of alpha) creates a network, subnet and load balancer.
    let (s, net) = curl(
        &url("/v2.0/networks"),
        "POST",
        Some(&t_alice),
        Some(&json!({"network": {"name": "private"}})),
    );
    assert_eq!(s, 201, "{net}");
    let (s, subnet) = curl(
        &url("/v2.0/subnets"),
        "POST",
        Some(&t_alice),
        Some(
            &json!({"subnet": {"name": "private-subnet", "network_id": net["network"]["id"],
            "cidr": "198.18.30.0/24", "ip_version": 4}}),
        ),
    );
    assert_eq!(s, 201, "{subnet}");
    let (s, lb) = curl(
        &lbs,
        "POST",
        Some(&t_alice),
        Some(
            &json!({"loadbalancer": {"name": "lb-alpha", "provider": "noop",
            "vip_subnet_id": subnet["subnet"]["id"]}}),
        ),
    );
    assert_eq!(s, 201, "{lb}\n{}", api.log());
    assert_eq!(lb["loadbalancer"]["project_id"], json!(alpha_id));
    let lb_id = lb["loadbalancer"]["id"].as_str().expect("lb id").to_owned();
    let lb_url = format!("{lbs}/{lb_id}");
    assert_eq!(curl(&lb_url, "GET", Some(&t_alice), None).0, 200);

    // bob (member of beta) neither sees nor changes it, nor adds to it.
    assert_eq!(curl(&lb_url, "GET", Some(&t_bob), None).0, 404);
    let (s, list) = curl(&lbs, "GET", Some(&t_bob), None);
    assert_eq!((s, &list["loadbalancers"]), (200, &json!([])));
    let rename = json!({"loadbalancer": {"name": "x"}});
    assert_eq!(curl(&lb_url, "PUT", Some(&t_bob), Some(&rename)).0, 404);
    assert_eq!(curl(&lb_url, "DELETE", Some(&t_bob), None).0, 404);
    let (s, b) = curl(
        &url("/v2/lbaas/listeners"),
        "POST",
        Some(&t_bob),
        Some(
            &json!({"listener": {"loadbalancer_id": lb_id, "protocol": "TCP",
                                  "protocol_port": 80}}),
        ),
    );
    assert_eq!(s, 403, "{b}");

    // rita (reader of alpha) reads but changes nothing.
    let (s, list) = curl(&lbs, "GET", Some(&t_rita), None);
    assert_eq!(s, 200);
    assert_eq!(list["loadbalancers"].as_array().map(Vec::len), Some(1));
    assert_eq!(curl(&lb_url, "GET", Some(&t_rita), None).0, 200);
    assert_eq!(curl(&lb_url, "PUT", Some(&t_rita), Some(&rename)).0, 403);
    assert_eq!(curl(&lb_url, "DELETE", Some(&t_rita), None).0, 403);
    let (s, b) = curl(
        &lbs,
        "POST",
        Some(&t_rita),
        Some(
            &json!({"loadbalancer": {"provider": "noop", "vip_subnet_id": subnet["subnet"]["id"]}}),
        ),
    );
    assert_eq!(s, 403, "{b}");
    assert_eq!(
        b["faultstring"],
        json!("Policy does not allow this request to be performed.")
    );
    // Admin APIs are admin-only.
    assert_eq!(
        curl(&url("/v2/octavia/amphorae"), "GET", Some(&t_alice), None).0,
        403
    );

    // Quotas: each project reads its own only; only the admin sets them or sees all.
    let quota = |p: &str| url(&format!("/v2/lbaas/quotas/{p}"));
    for p in [&alpha_id, &beta_id] {
        let (s, b) = curl(
            &quota(p),
            "PUT",
            Some(&t_admin),
            Some(&json!({"quota": {"loadbalancer": 5}})),
        );
        assert_eq!(s, 202, "{b}");
    }
    let (s, b) = curl(&quota(&alpha_id), "GET", Some(&t_alice), None);
    assert_eq!((s, &b["quota"]["loadbalancer"]), (200, &json!(5)), "{b}");
    assert_eq!(curl(&quota(&alpha_id), "GET", Some(&t_rita), None).0, 200);
    assert_eq!(curl(&quota(&beta_id), "GET", Some(&t_alice), None).0, 403);
    assert_eq!(curl(&quota(&alpha_id), "GET", Some(&t_bob), None).0, 403);
    let (s, b) = curl(&url("/v2/lbaas/quotas"), "GET", Some(&t_alice), None);
    assert_eq!(s, 200);
    let projects: Vec<&Value> = b["quotas"]
        .as_array()
        .map(|q| q.iter().map(|q| &q["project_id"]).collect())
        .unwrap_or_default();
    assert_eq!(projects, [&json!(alpha_id)], "{b}");
    let (_, b) = curl(&url("/v2/lbaas/quotas"), "GET", Some(&t_admin), None);
    assert_eq!(b["quotas"].as_array().map(Vec::len), Some(2), "{b}");
    let raise = json!({"quota": {"loadbalancer": 50}});
    assert_eq!(
        curl(&quota(&alpha_id), "PUT", Some(&t_alice), Some(&raise)).0,
        403
    );
    // quinn (quota admin, scoped to beta) manages every project's quotas and nothing else.
    let (s, b) = curl(&quota(&alpha_id), "PUT", Some(&t_quinn), Some(&raise));
    assert_eq!((s, &b["quota"]["loadbalancer"]), (202, &json!(50)), "{b}");
    let (s, b) = curl(&quota(&alpha_id), "GET", Some(&t_alice), None);
    assert_eq!((s, &b["quota"]["loadbalancer"]), (200, &json!(50)), "{b}");
    let (_, b) = curl(&url("/v2/lbaas/quotas"), "GET", Some(&t_quinn), None);
    assert_eq!(b["quotas"].as_array().map(Vec::len), Some(2), "{b}");
    assert_eq!(curl(&lbs, "GET", Some(&t_quinn), None).0, 403);
    assert_eq!(curl(&lb_url, "GET", Some(&t_quinn), None).0, 403);

    // The real CLI, password auth, endpoint from the catalog: alice lists hers.
    let alice = Os {
        cli: &cli,
        auth_url: &ks.url,
        user: "alice",
        password: PASSWORD,
        project: "alpha",
    };
    let listed = alice.json(&["loadbalancer", "list"]);
    assert_eq!(listed[0]["id"], json!(lb_id), "{listed}");

    // admin sees every project's load balancers, and the admin APIs.
    let (s, list) = curl(&lbs, "GET", Some(&t_admin), None);
    assert_eq!(s, 200);
    assert!(
        list["loadbalancers"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["id"] == json!(lb_id))),
        "{list}"
    );
    assert_eq!(
        curl(&url("/v2/octavia/amphorae"), "GET", Some(&t_admin), None).0,
        200
    );
    assert_eq!(curl(&lb_url, "PUT", Some(&t_admin), Some(&rename)).0, 200);
}
