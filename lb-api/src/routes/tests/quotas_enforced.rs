//! Quota enforcement on create: 403 `Quota has been met for resources: <name>` with nothing
//! written, for every limited kind, batch member updates (net growth) and configured defaults.

use serde_json::{Value, json};

use crate::{
    config::Config,
    model::quota::{Limits, Resource},
    testutil::TestApp,
};

async fn set_quota(app: &TestApp, project: &str, quota: Value) {
    let (s, b) = app
        .call(
            "PUT",
            &format!("/v2/lbaas/quotas/{project}"),
            None,
            Some(json!({ "quota": quota })),
        )
        .await;
    assert_eq!(s, 202, "{b}");
}

async fn count(app: &TestApp, uri: &str, plural: &str) -> usize {
    let (s, b) = app.call("GET", uri, Some("p1"), None).await;
    assert_eq!(s, 200, "{b}");
    b[plural].as_array().map_or(0, Vec::len)
}

fn assert_quota_met(s: u16, b: &Value, name: &str) {
    assert_eq!(s, 403, "{b}");
    assert_eq!(
        b,
        &json!({"faultcode": "Client",
                "faultstring": format!("Quota has been met for resources: {name}"),
                "debuginfo": null})
    );
}

#[tokio::test]
async fn load_balancer_quota_refuses_the_next_create_and_writes_nothing() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    set_quota(&app, "p1", json!({"loadbalancer": 1})).await;
    let body = json!({"loadbalancer": {"vip_subnet_id": subnet}});
    let (s, _) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 201);
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(body.clone()),
        )
        .await;
    assert_quota_met(s, &b, "Load Balancer");
    assert_eq!(
        count(&app, "/v2/lbaas/loadbalancers", "loadbalancers").await,
        1
    );
    // No VIP port was allocated for the refused one.
    let (_, ports) = app.call("GET", "/v2.0/ports", None, None).await;
    assert_eq!(ports["ports"].as_array().map(Vec::len), Some(1), "{ports}");
    // Other projects are not limited by p1's quota.
    let (s, _) = app
        .call("POST", "/v2/lbaas/loadbalancers", Some("p2"), Some(body))
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn each_child_kind_is_limited_by_its_own_quota() {
    let app = TestApp::frozen().await;
    let (lb, listener) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "listener_id": listener, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    app.create(
        &format!("/v2/lbaas/pools/{pool}/members"),
        "p1",
        "member",
        json!({"address": "10.0.0.5", "protocol_port": 80}),
    )
    .await;
    app.settle(&lb).await;
    let policy = app
        .create(
            "/v2/lbaas/l7policies",
            "p1",
            "l7policy",
            json!({"listener_id": listener, "action": "REJECT"}),
        )
        .await;
    app.settle(&lb).await;
    app.create(
        &format!("/v2/lbaas/l7policies/{policy}/rules"),
        "p1",
        "rule",
        json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/a"}),
    )
    .await;
    app.settle(&lb).await;
    // Everything at its current count; health monitors at zero.
    set_quota(
        &app,
        "p1",
        json!({"listener": 1, "pool": 1, "member": 1, "health_monitor": 0,
               "l7policy": 1, "l7rule": 1}),
    )
    .await;
    let attempts: [(String, &str, Value, Resource); 6] = [
        (
            "/v2/lbaas/listeners".to_owned(),
            "listener",
            json!({"protocol": "TCP", "protocol_port": 81, "loadbalancer_id": lb}),
            Resource::Listener,
        ),
        (
            "/v2/lbaas/pools".to_owned(),
            "pool",
            json!({"protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
            Resource::Pool,
        ),
        (
            format!("/v2/lbaas/pools/{pool}/members"),
            "member",
            json!({"address": "10.0.0.6", "protocol_port": 80}),
            Resource::Member,
        ),
        (
            "/v2/lbaas/healthmonitors".to_owned(),
            "healthmonitor",
            json!({"pool_id": pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2}),
            Resource::HealthMonitor,
        ),
        (
            "/v2/lbaas/l7policies".to_owned(),
            "l7policy",
            json!({"listener_id": listener, "action": "REJECT", "position": 1}),
            Resource::L7Policy,
        ),
        (
            format!("/v2/lbaas/l7policies/{policy}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/b"}),
            Resource::L7Rule,
        ),
    ];
    for (uri, key, body, resource) in attempts {
        let (s, b) = app
            .call("POST", &uri, Some("p1"), Some(json!({ key: body })))
            .await;
        assert_quota_met(s, &b, resource.name());
        assert_eq!(
            app.lb_status(&lb, "p1").await,
            "ACTIVE",
            "{uri} locked the LB"
        );
    }
    assert_eq!(count(&app, "/v2/lbaas/listeners", "listeners").await, 1);
    assert_eq!(count(&app, "/v2/lbaas/pools", "pools").await, 1);
    assert_eq!(
        count(&app, &format!("/v2/lbaas/pools/{pool}/members"), "members").await,
        1
    );
    assert_eq!(
        count(&app, "/v2/lbaas/healthmonitors", "healthmonitors").await,
        0
    );
    assert_eq!(count(&app, "/v2/lbaas/l7policies", "l7policies").await, 1);
    assert_eq!(
        count(
            &app,
            &format!("/v2/lbaas/l7policies/{policy}/rules"),
            "rules"
        )
        .await,
        1
    );
    // Raising a limit lets the create through.
    set_quota(&app, "p1", json!({"healthmonitor": -1})).await;
    app.create(
        "/v2/lbaas/healthmonitors",
        "p1",
        "healthmonitor",
        json!({"pool_id": pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2}),
    )
    .await;
}

#[tokio::test]
async fn batch_member_update_is_checked_on_its_net_growth() {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "TCP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let uri = format!("/v2/lbaas/pools/{pool}/members");
    app.create(
        &uri,
        "p1",
        "member",
        json!({"address": "10.0.0.1", "protocol_port": 80}),
    )
    .await;
    app.settle(&lb).await;
    set_quota(&app, "p1", json!({"member": 2})).await;
    let m = |a: &str| json!({"address": a, "protocol_port": 80});
    // Replace 1 with 3: net +2 → 3 members > 2.
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"members": [m("10.0.0.2"), m("10.0.0.3"), m("10.0.0.4")]})),
        )
        .await;
    assert_quota_met(s, &b, "Member");
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    // Additive: +2 new on top of 1 → 3 > 2.
    let (s, b) = app
        .call(
            "PUT",
            &format!("{uri}?additive_only=true"),
            Some("p1"),
            Some(json!({"members": [m("10.0.0.2"), m("10.0.0.3")]})),
        )
        .await;
    assert_quota_met(s, &b, "Member");
    assert_eq!(count(&app, &uri, "members").await, 1);
    // Replace 1 with 2 (net +1 → 2): allowed.
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"members": [m("10.0.0.2"), m("10.0.0.3")]})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
}

#[tokio::test]
async fn configured_defaults_apply_to_projects_without_a_quota() {
    let mut defaults = Limits::default();
    defaults.set(Resource::LoadBalancer, 0);
    let app = TestApp::with_config(Config {
        quota_defaults: defaults,
        noop_delay: std::time::Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert_eq!(
        (&q["loadbalancer"], &q["listener"]),
        (&json!(0), &json!(-1))
    );
    let subnet = app.subnet().await;
    let body = json!({"loadbalancer": {"vip_subnet_id": subnet}});
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(body.clone()),
        )
        .await;
    assert_quota_met(s, &b, "Load Balancer");
    // A stored quota overrides the default.
    set_quota(&app, "p1", json!({"loadbalancer": 1})).await;
    let (s, _) = app
        .call("POST", "/v2/lbaas/loadbalancers", Some("p1"), Some(body))
        .await;
    assert_eq!(s, 201);
}
