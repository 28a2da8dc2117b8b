//! Member API tests (single-member CRUD).

use serde_json::json;

use crate::testutil::TestApp;

/// Frozen app with an ACTIVE LB, HTTP listener and its default pool: (app, lb, pool).
async fn fixture() -> (TestApp, String, String) {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "listener_id": li, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    (app, lb, pool)
}

#[tokio::test]
async fn create_locks_pool_and_lb_then_active_with_every_field() {
    let (app, lb, pool) = fixture().await;
    let subnet = {
        let (_, b) = app.call("GET", "/v2.0/subnets", None, None).await;
        b["subnets"][0]["id"].as_str().unwrap().to_owned()
    };
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"member": {"name": "m1", "address": "10.0.0.21",
            "protocol_port": "8080", "weight": 0, "backup": "true", "subnet_id": subnet,
            "monitor_address": "10.0.0.99", "monitor_port": 9000, "tags": ["t"]}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let m = &b["member"];
    assert_eq!(m["provisioning_status"], "PENDING_CREATE");
    assert_eq!(m["operating_status"], "NO_MONITOR");
    assert_eq!(
        (&m["protocol_port"], &m["weight"], &m["backup"]),
        (&json!(8080), &json!(0), &json!(true))
    );
    assert_eq!(
        (&m["monitor_address"], &m["monitor_port"], &m["subnet_id"]),
        (&json!("10.0.0.99"), &json!(9000), &json!(subnet))
    );
    assert_eq!(
        (&m["vnic_type"], &m["tenant_id"]),
        (&json!("normal"), &json!("p1"))
    );
    assert!(m.get("pool_id").is_none() && m.get("description").is_none());
    let id = m["id"].as_str().unwrap();
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    let p = app
        .get(&format!("/v2.0/lbaas/pools/{pool}"), "p1", "pool")
        .await;
    assert_eq!(p["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(p["members"], json!([{"id": id}]));
    // The pool is locked too: another member change is 409 on the pool.
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"member": {"address": "10.0.0.22", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (
            409,
            format!("Pool {pool} is immutable and cannot be updated.").as_str()
        )
    );
    app.settle(&lb).await;
    let got = app.get(&format!("{uri}/{id}"), "p1", "member").await;
    assert_eq!(got["provisioning_status"], "ACTIVE");
    // Same address and port again → 409.
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"member": {"address": "10.0.0.21", "protocol_port": 8080}})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        b["faultstring"],
        "Another member on this pool is already using ip 10.0.0.21 on protocol_port 8080"
    );
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    let missing = "11111111-2222-3333-4444-555555555555";
    let cases = [
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "weight": 257}),
            "Invalid input for field/attribute weight. Value: '257'. Value should be lower or equal to 256".to_owned(),
        ),
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "weight": -1}),
            "Invalid input for field/attribute weight. Value: '-1'. Value should be greater or equal to 0".to_owned(),
        ),
        (
            json!({"address": "10.0.0.5"}),
            "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing.".to_owned(),
        ),
        (
            json!({"address": "not-an-ip", "protocol_port": 80}),
            "Invalid input for field/attribute address. Value: 'not-an-ip'. Value should be IPv4 or IPv6 format".to_owned(),
        ),
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "monitor_port": 0}),
            "Invalid input for field/attribute monitor_port. Value: '0'. Value should be greater or equal to 1".to_owned(),
        ),
        (
            json!({"address": "169.254.169.254", "protocol_port": 80}),
            "169.254.169.254 is not a valid option for member address".to_owned(),
        ),
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "subnet_id": missing}),
            format!("Subnet {missing} not found."),
        ),
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "request_sriov": true}),
            "The load balancer flavor does not allow SR-IOV member ports.".to_owned(),
        ),
        (
            json!({"address": "10.0.0.5", "protocol_port": 80, "description": "x"}),
            "Unknown attribute for argument member_.member: description".to_owned(),
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = app
            .call("POST", &uri, Some("p1"), Some(json!({ "member": body })))
            .await;
        assert_eq!(
            (s, b["faultstring"].as_str().unwrap()),
            (400, msg.as_str()),
            "{body}"
        );
    }
    let (_, list) = app.call("GET", &uri, Some("p1"), None).await;
    assert_eq!(list["members"], json!([]));
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
}

#[tokio::test]
async fn update_resets_nulls_and_delete_removes() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    let id = app
        .create(
            &uri,
            "p1",
            "member",
            json!({"address": "10.0.0.30", "protocol_port": 80, "weight": 5, "backup": true}),
        )
        .await;
    app.settle(&lb).await;
    let m_uri = format!("{uri}/{id}");
    let (s, b) = app
        .call(
            "PUT",
            &m_uri,
            Some("p1"),
            Some(json!({"member": {"address": "10.0.0.31"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Unknown attribute for argument member_.member: address")
        )
    );
    let (s, b) = app
        .call(
            "PUT",
            &m_uri,
            Some("p1"),
            Some(json!({"member": {"weight": null, "backup": null,
            "monitor_port": 81, "name": "renamed"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let m = &b["member"];
    assert_eq!(m["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(
        (&m["weight"], &m["backup"], &m["monitor_port"], &m["name"]),
        (&json!(1), &json!(false), &json!(81), &json!("renamed"))
    );
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    app.settle(&lb).await;
    assert_eq!(app.call("DELETE", &m_uri, Some("p1"), None).await.0, 204);
    assert_eq!(
        app.get(&m_uri, "p1", "member").await["provisioning_status"],
        "PENDING_DELETE"
    );
    app.settle(&lb).await;
    assert_eq!(app.call("GET", &m_uri, Some("p1"), None).await.0, 404);
}

#[tokio::test]
async fn wrong_pool_other_project_and_list_filters() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    let other = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let mut ids = Vec::new();
    for (addr, w) in [("10.0.0.41", 1), ("10.0.0.42", 2), ("10.0.0.43", 2)] {
        ids.push(
            app.create(
                &uri,
                "p1",
                "member",
                json!({"address": addr, "protocol_port": 80, "weight": w}),
            )
            .await,
        );
        app.settle(&lb).await;
    }
    // A member is only found under its own pool.
    let (s, b) = app
        .call(
            "GET",
            &format!("/v2/lbaas/pools/{other}/members/{}", ids[0]),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (404, format!("Member {} not found.", ids[0]).as_str())
    );
    let (s, b) = app
        .call("GET", &format!("{uri}/{}", ids[0]), Some("p2"), None)
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (404, format!("Pool {pool} not found.").as_str())
    );
    let (s, _) = app
        .call(
            "POST",
            &uri,
            Some("p2"),
            Some(json!({"member": {"address": "10.0.0.9", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(s, 404);
    let (_, b) = app
        .call(
            "GET",
            &format!("{uri}?weight=2&sort=address:desc"),
            Some("p1"),
            None,
        )
        .await;
    let addrs: Vec<&str> = b["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap())
        .collect();
    assert_eq!(addrs, ["10.0.0.43", "10.0.0.42"]);
    let (_, b) = app
        .call(
            "GET",
            &format!("{uri}?limit=1&marker={}", ids[0]),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["members"][0]["id"], json!(ids[1]));
    let rels: Vec<&str> = b["members_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["previous", "next"]);
    let (_, b) = app
        .call(
            "GET",
            &format!("/v2/lbaas/pools/{other}/members"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["members"], json!([]));
}
