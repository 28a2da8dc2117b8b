//! Listener API tests.

use serde_json::json;

use crate::testutil::TestApp;

const LIS: &str = "/v2.0/lbaas/listeners";

#[tokio::test]
async fn create_locks_lb_then_both_become_active() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let lb = app.active_lb("p1", &subnet).await;
    let (s, b) = app
        .call("POST", LIS, Some("p1"), Some(json!({"listener": {"name": "l1", "protocol": "HTTP",
            "protocol_port": "80", "connection_limit": "100", "loadbalancer_id": lb, "admin_state_up": true}})))
        .await;
    assert_eq!(s, 201, "{b}");
    let l = &b["listener"];
    assert_eq!(l["provisioning_status"], "PENDING_CREATE");
    assert_eq!(
        (l["protocol_port"].clone(), l["connection_limit"].clone()),
        (json!(80), json!(100))
    );
    assert_eq!(l["timeout_client_data"], 50000);
    assert_eq!(l["loadbalancers"], json!([{"id": lb}]));
    assert_eq!(l["allowed_cidrs"], json!(null));
    assert_eq!(l["tls_versions"], json!(null));
    let id = l["id"].as_str().unwrap();
    app.wait_status(&format!("{LIS}/{id}"), "p1", "listener", "ACTIVE")
        .await;
    let got = app
        .wait_status(
            &format!("/v2/lbaas/loadbalancers/{lb}"),
            "p1",
            "loadbalancer",
            "ACTIVE",
        )
        .await;
    assert_eq!(got["listeners"], json!([{"id": id}]));
    // Same TCP-family port → 409; UDP on the same port is fine.
    let (s, b) = app
        .call("POST", LIS, Some("p1"), Some(json!({"listener": {"protocol": "TCP", "protocol_port": 80, "loadbalancer_id": lb}})))
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        b["faultstring"],
        "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80"
    );
    let (s, _) = app
        .call("POST", LIS, Some("p1"), Some(json!({"listener": {"protocol": "UDP", "protocol_port": 80, "loadbalancer_id": lb}})))
        .await;
    assert_eq!(s, 201);
    // Filters by loadbalancer_id and name, as the CLI sends.
    let (_, b) = app
        .call(
            "GET",
            &format!("{LIS}?loadbalancer_id={lb}&name=l1"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["listeners"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn child_changes_are_409_while_lb_is_pending() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let (_, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    let lb = b["loadbalancer"]["id"].as_str().unwrap();
    let (s, b) = app
        .call("POST", LIS, Some("p1"), Some(json!({"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": lb}})))
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        b["faultstring"],
        format!("Load Balancer {lb} is immutable and cannot be updated.")
    );
    let (_, list) = app.call("GET", LIS, Some("p1"), None).await;
    assert_eq!(list["listeners"], json!([]));
}

#[tokio::test]
async fn validation_errors_and_other_projects() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let lb = app.active_lb("p1", &subnet).await;
    let cases = [
        (
            json!({"protocol": "FOO", "protocol_port": 80, "loadbalancer_id": lb}),
            "Invalid input for field/attribute protocol. Value: 'FOO'. Value should be one of:",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb}),
            "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"protocol": "HTTP", "protocol_port": 70000, "loadbalancer_id": lb}),
            "Invalid input for field/attribute protocol_port. Value: '70000'. Value should be lower or equal to 65535",
        ),
        (
            json!({"protocol": "TCP", "protocol_port": 80, "loadbalancer_id": lb, "insert_headers": {"X-Forwarded-For": "true"}}),
            "insert-headers is not a valid option for a TCP protocol listener.",
        ),
        (
            json!({"protocol": "TERMINATED_HTTPS", "protocol_port": 443, "loadbalancer_id": lb}),
            "Validation failure: An SNI or default certificate",
        ),
        (
            json!({"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": lb, "foo": 1}),
            "Unknown attribute for argument listener_.listener: foo",
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = app
            .call("POST", LIS, Some("p1"), Some(json!({ "listener": body })))
            .await;
        assert_eq!(s, 400, "{b}");
        assert!(b["faultstring"].as_str().unwrap().starts_with(msg), "{b}");
    }
    // Another project can neither use the LB nor see the listener.
    let (s, _) = app
        .call("POST", LIS, Some("p2"), Some(json!({"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": lb}})))
        .await;
    assert_eq!(
        s, 403,
        "Octavia's policy check refuses another project's load balancer"
    );
    let (_, b) = app
        .call("POST", LIS, Some("p1"), Some(json!({"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": lb}})))
        .await;
    let id = b["listener"]["id"].as_str().unwrap();
    assert_eq!(
        app.call("GET", &format!("{LIS}/{id}"), Some("p2"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.call("DELETE", &format!("{LIS}/{id}"), Some("p2"), None)
            .await
            .0,
        404
    );
    let (_, b) = app.call("GET", LIS, Some("p2"), None).await;
    assert_eq!(b["listeners"], json!([]));
}

#[tokio::test]
async fn update_resets_nulls_rejects_create_only_and_delete_removes() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let lb = app.active_lb("p1", &subnet).await;
    let (_, b) = app
        .call(
            "POST",
            LIS,
            Some("p1"),
            Some(json!({"listener": {"protocol": "HTTP", "protocol_port": 80,
            "loadbalancer_id": lb, "timeout_client_data": 10}})),
        )
        .await;
    let id = b["listener"]["id"].as_str().unwrap();
    let uri = format!("{LIS}/{id}");
    app.wait_status(&uri, "p1", "listener", "ACTIVE").await;
    app.wait_status(
        &format!("/v2/loadbalancers/{lb}"),
        "p1",
        "loadbalancer",
        "ACTIVE",
    )
    .await;
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"listener": {"protocol": "TCP"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Unknown attribute for argument listener_.listener: protocol")
        )
    );
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"listener": {"connection_limit": "5", "timeout_client_data": null}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["listener"]["provisioning_status"], "PENDING_UPDATE");
    let got = app.wait_status(&uri, "p1", "listener", "ACTIVE").await;
    assert_eq!(
        (
            got["connection_limit"].clone(),
            got["timeout_client_data"].clone()
        ),
        (json!(5), json!(50000))
    );
    app.wait_status(
        &format!("/v2/loadbalancers/{lb}"),
        "p1",
        "loadbalancer",
        "ACTIVE",
    )
    .await;
    assert_eq!(app.call("DELETE", &uri, Some("p1"), None).await.0, 204);
    app.wait_gone(&uri, "p1").await;
}

#[tokio::test]
async fn an_unknown_load_balancer_is_404_as_octavia() {
    let app = TestApp::new().await;
    let missing = "8e3a5d0e-0000-4000-8000-000000000000";
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some("p1"),
            Some(serde_json::json!({"listener": {"loadbalancer_id": missing,
                "protocol": "TCP", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(
        b["faultstring"],
        format!("Load Balancer {missing} not found.")
    );
}
