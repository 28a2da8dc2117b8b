//! Single-call creation of children on a listener, pool or L7 policy POST: a listener with its
//! default pool (monitor, members) and L7 policies (rules, redirect pools), a pool with its
//! monitor and members, a policy with its rules. Checks the response, the stored objects and
//! their provisioning, that a bad part or a quota fails the whole call and writes nothing.

use serde_json::{Value, json};

use crate::testutil::TestApp;

const LISTENERS: &str = "/v2/lbaas/listeners";
const POOLS: &str = "/v2/lbaas/pools";
const POLICIES: &str = "/v2/lbaas/l7policies";

/// A frozen app with subnet and an ACTIVE load balancer of p1; (app, lb).
async fn with_lb() -> (TestApp, String) {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let lb = app
        .create(
            "/v2/lbaas/loadbalancers",
            "p1",
            "loadbalancer",
            json!({"vip_subnet_id": subnet}),
        )
        .await;
    app.settle(&lb).await;
    (app, lb)
}

fn listener_body(lb: &str) -> Value {
    json!({"listener": {
        "name": "web", "protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": lb,
        "default_pool": {
            "name": "web-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2,
                              "url_path": "/healthz"},
            "members": [{"address": "10.0.0.11", "protocol_port": 8080},
                        {"address": "10.0.0.12", "protocol_port": 8080, "weight": 5}]},
        "l7policies": [
            {"name": "api", "action": "REDIRECT_TO_POOL",
             "redirect_pool": {"name": "api-pool", "protocol": "HTTP",
                               "lb_algorithm": "LEAST_CONNECTIONS",
                               "members": [{"address": "10.0.0.21", "protocol_port": 9000}]},
             "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"},
                       {"type": "HEADER", "key": "X-Api", "compare_type": "EQUAL_TO",
                        "value": "1"}]},
            {"name": "legacy", "action": "REDIRECT_TO_POOL",
             "redirect_pool": {"name": "web-pool"},
             "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/old"}]},
            {"name": "deny", "action": "REJECT"}
        ]
    }})
}

/// GET list `uri` as p1; its items.
async fn items(app: &TestApp, uri: &str, plural: &str) -> Vec<Value> {
    let (s, b) = app.call("GET", uri, Some("p1"), None).await;
    assert_eq!(s, 200, "{b}");
    b[plural].as_array().cloned().unwrap_or_default()
}

/// No listener, pool, member, monitor, policy or rule was written, and the LB is untouched.
async fn nothing_written(app: &TestApp, lb: &str, listeners: usize) {
    for (uri, plural, want) in [
        (LISTENERS, "listeners", listeners),
        (POOLS, "pools", 0),
        ("/v2/lbaas/healthmonitors", "healthmonitors", 0),
        (POLICIES, "l7policies", 0),
    ] {
        assert_eq!(items(app, uri, plural).await.len(), want, "{uri} changed");
    }
    assert_eq!(app.lb_status(lb, "p1").await, "ACTIVE");
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_listener_is_created_with_its_default_pool_and_l7_policies() {
    let (app, lb) = with_lb().await;
    let (s, b) = app
        .call("POST", LISTENERS, Some("p1"), Some(listener_body(&lb)))
        .await;
    assert_eq!(s, 201, "{b}");
    let l = &b["listener"];
    assert_eq!(
        (
            &l["name"],
            &l["provisioning_status"],
            &l["operating_status"]
        ),
        (&json!("web"), &json!("PENDING_CREATE"), &json!("OFFLINE"))
    );
    // Octavia's ListenerResponse: children by id.
    let policy_ids = ids(&l["l7policies"]);
    assert_eq!(policy_ids.len(), 3);
    assert!(l["l7policies"][0].get("rules").is_none(), "{l}");
    let pool_id = l["default_pool_id"].as_str().unwrap().to_owned();
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");

    let pool = app.get(&format!("{POOLS}/{pool_id}"), "p1", "pool").await;
    assert_eq!(
        (&pool["name"], &pool["provisioning_status"]),
        (&json!("web-pool"), &json!("PENDING_CREATE"))
    );
    assert_eq!(pool["listeners"], json!([{"id": l["id"]}]));
    assert_eq!(ids(&pool["members"]).len(), 2);
    let hm = app
        .get(
            &format!(
                "/v2/lbaas/healthmonitors/{}",
                pool["healthmonitor_id"].as_str().unwrap()
            ),
            "p1",
            "healthmonitor",
        )
        .await;
    assert_eq!(
        (&hm["url_path"], &hm["provisioning_status"]),
        (&json!("/healthz"), &json!("PENDING_CREATE"))
    );
    let members = items(&app, &format!("{POOLS}/{pool_id}/members"), "members").await;
    assert_eq!(members[1]["weight"], 5);

    let policies = items(
        &app,
        &format!(
            "{POLICIES}?listener_id={}&sort=position",
            l["id"].as_str().unwrap()
        ),
        "l7policies",
    )
    .await;
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "legacy", "deny"]);
    assert_eq!(
        policies
            .iter()
            .map(|p| p["position"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );
    let api_pool = policies[0]["redirect_pool_id"].as_str().unwrap();
    assert_ne!(api_pool, pool_id);
    let api = app.get(&format!("{POOLS}/{api_pool}"), "p1", "pool").await;
    assert_eq!(
        (&api["name"], &api["lb_algorithm"]),
        (&json!("api-pool"), &json!("LEAST_CONNECTIONS"))
    );
    assert_eq!(ids(&api["members"]).len(), 1);
    // A name alone refers to a pool defined in the same request.
    assert_eq!(policies[1]["redirect_pool_id"], json!(pool_id));
    assert_eq!(ids(&policies[0]["rules"]).len(), 2);
    assert_eq!(ids(&policies[2]["rules"]).len(), 0);
    let rules = items(
        &app,
        &format!("{POLICIES}/{}/rules", policies[0]["id"].as_str().unwrap()),
        "rules",
    )
    .await;
    assert!(
        rules
            .iter()
            .all(|r| r["provisioning_status"] == "PENDING_CREATE")
    );

    // The provider completes everything like any other change.
    app.settle(&lb).await;
    let tree = app
        .get(
            &format!("/v2/lbaas/loadbalancers/{lb}/status"),
            "p1",
            "statuses",
        )
        .await;
    let lt = &tree["loadbalancer"];
    assert_eq!(lt["provisioning_status"], "ACTIVE");
    assert_eq!(lt["listeners"][0]["provisioning_status"], "ACTIVE");
    assert_eq!(
        lt["listeners"][0]["pools"].as_array().map(Vec::len),
        Some(2)
    );
    for p in lt["listeners"][0]["pools"].as_array().unwrap() {
        assert_eq!(p["provisioning_status"], "ACTIVE", "{p}");
        for m in p["members"].as_array().unwrap() {
            assert_eq!(m["provisioning_status"], "ACTIVE", "{m}");
        }
    }
    assert_eq!(
        lt["listeners"][0]["pools"][0]["health_monitor"]["provisioning_status"],
        "ACTIVE"
    );
    for p in items(&app, POLICIES, "l7policies").await {
        assert_eq!(p["provisioning_status"], "ACTIVE", "{p}");
        let uri = format!("{POLICIES}/{}/rules", p["id"].as_str().unwrap());
        for r in items(&app, &uri, "rules").await {
            assert_eq!(r["provisioning_status"], "ACTIVE", "{r}");
        }
    }
}

#[tokio::test]
async fn the_noop_provider_activates_a_pool_created_with_its_children() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let lb = app.active_lb("p1", &subnet).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {
                "loadbalancer_id": lb, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
                "healthmonitor": {"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2},
                "members": [{"address": "10.0.0.11", "protocol_port": 22},
                            {"address": "10.0.0.12", "protocol_port": 22}]}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let p = &b["pool"];
    assert_eq!(p["provisioning_status"], "PENDING_CREATE");
    let hm_id = p["healthmonitor_id"].as_str().unwrap().to_owned();
    let member_ids = ids(&p["members"]);
    assert_eq!(member_ids.len(), 2);
    let pool_id = p["id"].as_str().unwrap();
    app.wait_status(&format!("{POOLS}/{pool_id}"), "p1", "pool", "ACTIVE")
        .await;
    app.wait_status(
        &format!("/v2/lbaas/healthmonitors/{hm_id}"),
        "p1",
        "healthmonitor",
        "ACTIVE",
    )
    .await;
    for m in member_ids {
        app.wait_status(
            &format!("{POOLS}/{pool_id}/members/{m}"),
            "p1",
            "member",
            "ACTIVE",
        )
        .await;
    }
    app.wait_status(
        &format!("/v2/lbaas/loadbalancers/{lb}"),
        "p1",
        "loadbalancer",
        "ACTIVE",
    )
    .await;
}

#[tokio::test]
async fn a_pool_on_a_listener_and_a_policy_with_rules_return_their_childrens_ids() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {
                "listener_id": li, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": "10.0.0.11", "protocol_port": 80}]}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let pool = &b["pool"];
    assert_eq!(pool["healthmonitor_id"], Value::Null);
    assert_eq!(ids(&pool["members"]).len(), 1);
    assert_eq!(pool["listeners"], json!([{"id": li}]));
    let listener = app
        .get(&format!("{LISTENERS}/{li}"), "p1", "listener")
        .await;
    // The existing listener is locked as by a plain pool create; the new pool is new.
    assert_eq!(
        (
            &listener["default_pool_id"],
            &listener["provisioning_status"]
        ),
        (&pool["id"], &json!("PENDING_UPDATE"))
    );
    app.settle(&lb).await;

    let (s, b) = app
        .call(
            "POST",
            POLICIES,
            Some("p1"),
            Some(json!({"l7policy": {
                "listener_id": li, "action": "REDIRECT_TO_URL",
                "redirect_url": "https://example.com",
                "rules": [{"type": "HOST_NAME", "compare_type": "EQUAL_TO",
                           "value": "old.example.com"},
                          {"type": "PATH", "compare_type": "REGEX", "value": "^/x"}]}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let p = &b["l7policy"];
    assert_eq!(
        (&p["provisioning_status"], &p["redirect_http_code"]),
        (&json!("PENDING_CREATE"), &json!(302))
    );
    let rule_ids = ids(&p["rules"]);
    assert_eq!(rule_ids.len(), 2);
    let rule = app
        .get(
            &format!(
                "{POLICIES}/{}/rules/{}",
                p["id"].as_str().unwrap(),
                rule_ids[0]
            ),
            "p1",
            "rule",
        )
        .await;
    assert_eq!(
        (&rule["value"], &rule["provisioning_status"]),
        (&json!("old.example.com"), &json!("PENDING_CREATE"))
    );
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
}

/// A change to the valid listener body, and the status and fault it must cause.
type Case = (fn(&mut Value), u16, &'static str);

#[tokio::test]
async fn a_bad_nested_part_fails_the_listener_create_and_writes_nothing() {
    let (app, lb) = with_lb().await;
    let cases: [Case; 8] = [
        (
            |b| b["listener"]["default_pool"]["members"][1]["weight"] = json!(300),
            400,
            "Invalid input for field/attribute weight. Value: '300'. Value should be lower or equal to 256",
        ),
        (
            |b| b["listener"]["default_pool"]["protocol"] = json!("UDP"),
            400,
            "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'.",
        ),
        (
            |b| {
                b["listener"]["default_pool"]["healthmonitor"]
                    .as_object_mut()
                    .unwrap()
                    .remove("delay");
            },
            400,
            "Invalid input for field/attribute delay. Value: 'None'. Mandatory field missing.",
        ),
        (
            |b| b["listener"]["l7policies"][0]["rules"][1]["compare_type"] = json!("LIKE"),
            400,
            "Invalid input for field/attribute compare_type. Value: 'LIKE'. Value should be one of: REGEX, STARTS_WITH, ENDS_WITH, CONTAINS, EQUAL_TO",
        ),
        (
            |b| b["listener"]["l7policies"][1]["redirect_pool"] = json!({"name": "nowhere"}),
            400,
            "Validation failure: Pool 'nowhere' was referenced but no full definition was found.",
        ),
        (
            |b| b["listener"]["l7policies"][0]["redirect_pool"]["colour"] = json!("red"),
            400,
            "Unknown attribute for argument pool_.pool: colour",
        ),
        (
            |b| b["listener"]["l7policies"] = json!({"name": "x"}),
            400,
            "Invalid input for field/attribute l7policies. Value: '{\"name\":\"x\"}'. Value should be a list",
        ),
        (
            |b| b["listener"]["protocol_port"] = json!(0),
            400,
            "Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1",
        ),
    ];
    for (change, status, msg) in cases {
        let mut body = listener_body(&lb);
        change(&mut body);
        let (s, b) = app.call("POST", LISTENERS, Some("p1"), Some(body)).await;
        assert_eq!(
            (s, b["faultstring"].as_str().unwrap_or_default()),
            (status, msg),
            "{b}"
        );
        nothing_written(&app, &lb, 0).await;
    }
}

#[tokio::test]
async fn a_bad_member_or_rule_fails_the_pool_or_policy_create_and_writes_nothing() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {
                "loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2},
                "members": [{"address": "10.0.0.11", "protocol_port": 80},
                            {"address": "not-an-ip", "protocol_port": 80}]}})),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["faultstring"],
        "Invalid input for field/attribute address. Value: 'not-an-ip'. Value should be IPv4 or IPv6 format"
    );
    nothing_written(&app, &lb, 1).await;
    let (s, b) = app
        .call(
            "POST",
            POLICIES,
            Some("p1"),
            Some(json!({"l7policy": {
                "listener_id": li, "action": "REJECT",
                "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/a"},
                          {"type": "COOKIE", "compare_type": "EQUAL_TO", "value": "1"}]}})),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["faultstring"],
        "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key"
    );
    nothing_written(&app, &lb, 1).await;
    let listener = app
        .get(&format!("{LISTENERS}/{li}"), "p1", "listener")
        .await;
    assert_eq!(listener["provisioning_status"], "ACTIVE");
}

#[tokio::test]
async fn quotas_apply_to_every_nested_object() {
    let (app, lb) = with_lb().await;
    for (quota, resource) in [
        (json!({"member": 2}), "Member"),
        (json!({"healthmonitor": 0}), "Health Monitor"),
        (json!({"pool": 1}), "Pool"),
        (json!({"l7policy": 2}), "L7 Policy"),
        (json!({"l7rule": 2}), "L7 Rule"),
    ] {
        let (s, _) = app.call("DELETE", "/v2/lbaas/quotas/p1", None, None).await;
        assert!(s == 202 || s == 404, "{s}");
        let (s, b) = app
            .call(
                "PUT",
                "/v2/lbaas/quotas/p1",
                None,
                Some(json!({ "quota": quota })),
            )
            .await;
        assert_eq!(s, 202, "{b}");
        let (s, b) = app
            .call("POST", LISTENERS, Some("p1"), Some(listener_body(&lb)))
            .await;
        assert_eq!(
            (s, &b["faultstring"]),
            (
                403,
                &json!(format!("Quota has been met for resources: {resource}"))
            ),
            "{quota}"
        );
        nothing_written(&app, &lb, 0).await;
    }
}

#[tokio::test]
async fn empty_children_are_a_plain_create() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {"loadbalancer_id": lb, "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN", "members": [], "healthmonitor": {}}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["pool"]["members"], json!([]));
    app.settle(&lb).await;
    let (s, b) = app
        .call(
            "POST",
            POLICIES,
            Some("p1"),
            Some(json!({"l7policy": {"listener_id": li, "action": "REJECT", "rules": []}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    app.settle(&lb).await;
    let (s, b) = app
        .call(
            "POST",
            LISTENERS,
            Some("p1"),
            Some(
                json!({"listener": {"loadbalancer_id": lb, "protocol": "TCP",
                "protocol_port": 81, "default_pool": null, "l7policies": []}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}
