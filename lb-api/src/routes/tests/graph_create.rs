//! Single-call load balancer creation with nested listeners, pools, members, health
//! monitors, L7 policies and rules (Octavia's fully populated load balancer).

use serde_json::{Value, json};

use crate::testutil::TestApp;

fn graph(subnet: &str) -> Value {
    json!({"loadbalancer": {
        "name": "full",
        "vip_subnet_id": subnet,
        "listeners": [
            {"name": "web", "protocol": "HTTP", "protocol_port": 80,
             "default_pool": {"name": "web-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                              "members": [{"address": "10.0.0.11", "protocol_port": 8080},
                                          {"address": "10.0.0.12", "protocol_port": 8080, "weight": 5}],
                              "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3,
                                                "max_retries": 2, "url_path": "/healthz"}},
             "l7policies": [{"name": "api", "action": "REDIRECT_TO_POOL",
                             "redirect_pool": {"name": "api-pool"},
                             "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}]}]},
            {"name": "dns", "protocol": "UDP", "protocol_port": 53}
        ],
        "pools": [{"name": "api-pool", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS"}]
    }})
}

async fn count(app: &TestApp, uri: &str, plural: &str) -> usize {
    let (s, b) = app.call("GET", uri, Some("p1"), None).await;
    assert_eq!(s, 200, "{b}");
    b[plural].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_fully_populated_load_balancer_is_created_in_one_call() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(graph(&subnet)),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = &b["loadbalancer"];
    assert_eq!(
        (&lb["name"], &lb["provisioning_status"]),
        (&json!("full"), &json!("PENDING_CREATE"))
    );
    // Full objects, not id references.
    let listeners = lb["listeners"].as_array().unwrap();
    assert_eq!(listeners.len(), 2);
    let web = listeners.iter().find(|l| l["name"] == "web").unwrap();
    assert_eq!(
        (&web["protocol_port"], &web["provisioning_status"]),
        (&json!(80), &json!("PENDING_CREATE"))
    );
    let policy = &web["l7policies"][0];
    assert_eq!(
        (&policy["name"], &policy["action"]),
        (&json!("api"), &json!("REDIRECT_TO_POOL"))
    );
    assert_eq!(policy["rules"][0]["value"], "/api");
    let pools = lb["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    let web_pool = pools.iter().find(|p| p["name"] == "web-pool").unwrap();
    let api_pool = pools.iter().find(|p| p["name"] == "api-pool").unwrap();
    assert_eq!(web["default_pool_id"], web_pool["id"]);
    assert_eq!(policy["redirect_pool_id"], api_pool["id"]);
    assert_eq!(web_pool["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(web_pool["healthmonitor"]["url_path"], "/healthz");
    assert_eq!(
        web_pool["healthmonitor_id"],
        web_pool["healthmonitor"]["id"]
    );
    assert_eq!(api_pool["healthmonitor"], Value::Null);
    assert_eq!(web_pool["members"][1]["weight"], 5);
    // Stored, every object pending until the provider completes the LB.
    let id = lb["id"].as_str().unwrap();
    let stored = app
        .get(
            &format!("/v2/lbaas/loadbalancers/{id}"),
            "p1",
            "loadbalancer",
        )
        .await;
    assert_eq!(stored["provisioning_status"], "PENDING_CREATE");
    let (_, members) = app
        .call(
            "GET",
            &format!(
                "/v2/lbaas/pools/{}/members",
                web_pool["id"].as_str().unwrap()
            ),
            Some("p1"),
            None,
        )
        .await;
    assert!(
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["provisioning_status"] == "PENDING_CREATE")
    );
    app.settle(id).await;
    let tree = app
        .get(
            &format!("/v2/lbaas/loadbalancers/{id}/status"),
            "p1",
            "statuses",
        )
        .await;
    assert_eq!(tree["loadbalancer"]["provisioning_status"], "ACTIVE");
    assert_eq!(count(&app, "/v2/lbaas/l7policies", "l7policies").await, 1);
    assert_eq!(
        count(&app, "/v2/lbaas/healthmonitors", "healthmonitors").await,
        1
    );
}

async fn nothing_written(app: &TestApp) {
    for (uri, plural) in [
        ("/v2/lbaas/loadbalancers", "loadbalancers"),
        ("/v2/lbaas/listeners", "listeners"),
        ("/v2/lbaas/pools", "pools"),
        ("/v2/lbaas/healthmonitors", "healthmonitors"),
        ("/v2/lbaas/l7policies", "l7policies"),
    ] {
        assert_eq!(count(app, uri, plural).await, 0, "{uri} has leftovers");
    }
    let (_, ports) = app.call("GET", "/v2.0/ports", None, None).await;
    assert_eq!(ports["ports"], json!([]), "a VIP port was left behind");
}

/// A change to the valid graph, and the status and fault it must cause.
type Case = (fn(&mut Value), u16, &'static str);

#[tokio::test]
async fn a_bad_part_fails_the_whole_create_and_writes_nothing() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let cases: [Case; 7] = [
        (
            |g| g["extra"] = json!(1),
            400,
            "Unknown attribute for argument load_balancer: extra",
        ),
        (
            |g| {
                g["loadbalancer"]["listeners"][0]["default_pool"]["members"][1]["weight"] =
                    json!(300)
            },
            400,
            "Invalid input for field/attribute weight. Value: '300'. Value should be lower or equal to 256",
        ),
        (
            |g| g["loadbalancer"]["listeners"][1] = json!({"protocol": "TCP", "protocol_port": 80}),
            409,
            "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80",
        ),
        (
            |g| g["loadbalancer"]["pools"] = json!([]),
            400,
            "Validation failure: Pool 'api-pool' was referenced but no full definition was found.",
        ),
        (
            |g| g["loadbalancer"]["pools"][0]["name"] = json!("web-pool"),
            400,
            "Validation failure: Pool names must be unique when creating a fully populated loadbalancer.",
        ),
        (
            |g| g["loadbalancer"]["listeners"][0]["default_pool"] = json!({"protocol": "HTTP"}),
            400,
            "Validation failure: Pools must be named when creating a fully populated loadbalancer.",
        ),
        (
            |g| {
                g["loadbalancer"]["pools"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("lb_algorithm");
            },
            400,
            "Validation failure: Pool definition for 'api-pool' missing required attribute: lb_algorithm",
        ),
    ];
    for (change, status, msg) in cases {
        let mut body = graph(&subnet);
        change(&mut body);
        let (s, b) = app
            .call("POST", "/v2/lbaas/loadbalancers", Some("p1"), Some(body))
            .await;
        assert_eq!(
            (s, b["faultstring"].as_str().unwrap_or_default()),
            (status, msg),
            "{b}"
        );
        nothing_written(&app).await;
    }
}

#[tokio::test]
async fn quotas_apply_to_each_part_of_the_graph() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let (s, _) = app
        .call(
            "PUT",
            "/v2/lbaas/quotas/p1",
            None,
            Some(json!({"quota": {"member": 1}})),
        )
        .await;
    assert_eq!(s, 202);
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(graph(&subnet)),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (403, &json!("Quota has been met for resources: Member"))
    );
    nothing_written(&app).await;
}

#[tokio::test]
async fn empty_lists_are_a_plain_create() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet, "listeners": [], "pools": []}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (&b["loadbalancer"]["listeners"], &b["loadbalancer"]["pools"]),
        (&json!([]), &json!([]))
    );
}
