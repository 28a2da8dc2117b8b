//! Pool API tests.

use serde_json::json;

use crate::testutil::TestApp;

const POOLS: &str = "/v2.0/lbaas/pools";

#[tokio::test]
async fn create_on_listener_locks_lb_and_sets_default_pool() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {"name": "pool1", "protocol": "HTTP",
            "listener_id": li, "lb_algorithm": "ROUND_ROBIN", "admin_state_up": true,
            "session_persistence": {"type": "APP_COOKIE", "cookie_name": "sid"}}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let p = &b["pool"];
    assert_eq!(p["provisioning_status"], "PENDING_CREATE");
    assert_eq!(p["operating_status"], "OFFLINE");
    assert_eq!(p["loadbalancers"], json!([{"id": lb}]));
    assert_eq!(p["listeners"], json!([{"id": li}]));
    assert_eq!(p["members"], json!([]));
    assert!(
        p.get("healthmonitor_id").is_none(),
        "absent without a monitor: {p}"
    );
    assert_eq!(p["tls_enabled"], false);
    assert_eq!(p["tls_versions"], json!(null));
    assert_eq!(
        p["session_persistence"],
        json!({"type": "APP_COOKIE", "cookie_name": "sid", "persistence_timeout": null,
               "persistence_granularity": null})
    );
    assert_eq!(p["project_id"], "p1");
    let id = p["id"].as_str().unwrap();
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    let l = app
        .get(&format!("/v2.0/lbaas/listeners/{li}"), "p1", "listener")
        .await;
    assert_eq!(
        (&l["provisioning_status"], &l["default_pool_id"]),
        (&json!("PENDING_UPDATE"), &json!(id))
    );
    app.settle(&lb).await;
    let got = app.get(&format!("{POOLS}/{id}"), "p1", "pool").await;
    assert_eq!(got["provisioning_status"], "ACTIVE");
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    let lbv = app
        .get(&format!("/v2/loadbalancers/{lb}"), "p1", "loadbalancer")
        .await;
    assert_eq!(lbv["pools"], json!([{"id": id}]));
    // The listener already has a default pool.
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {"protocol": "HTTP",
            "listener_id": li, "lb_algorithm": "ROUND_ROBIN"}})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(b["faultstring"], "This listener already has a default pool");
}

#[tokio::test]
async fn end_to_end_with_the_noop_provider() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let lb = app.active_lb("p1", &subnet).await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/pools",
            Some("p1"),
            Some(json!({"pool": {"protocol": "TCP",
            "loadbalancer_id": lb, "lb_algorithm": "SOURCE_IP_PORT"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["pool"]["lb_algorithm"], "SOURCE_IP_PORT");
    assert_eq!(b["pool"]["listeners"], json!([]));
    let id = b["pool"]["id"].as_str().unwrap();
    app.wait_status(&format!("{POOLS}/{id}"), "p1", "pool", "ACTIVE")
        .await;
    app.wait_status(
        &format!("/v2/loadbalancers/{lb}"),
        "p1",
        "loadbalancer",
        "ACTIVE",
    )
    .await;
    assert_eq!(
        app.call("DELETE", &format!("{POOLS}/{id}"), Some("p1"), None)
            .await
            .0,
        204
    );
    app.wait_gone(&format!("{POOLS}/{id}"), "p1").await;
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let (_, udp) = {
        let id = app
            .create(
                "/v2.0/lbaas/listeners",
                "p1",
                "listener",
                json!({"protocol": "UDP", "protocol_port": 53, "loadbalancer_id": lb}),
            )
            .await;
        app.settle(&lb).await;
        ((), id)
    };
    let cases = [
        (
            json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
            "Validation failure: Must provide at least one of: loadbalancer_id, listener_id",
        ),
        (
            json!({"protocol": "UDP", "listener_id": li, "lb_algorithm": "ROUND_ROBIN"}),
            "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'.",
        ),
        (
            json!({"protocol": "HTTP", "listener_id": udp, "lb_algorithm": "ROUND_ROBIN"}),
            "Validation failure: The pool protocol 'HTTP' is invalid while the listener protocol is 'UDP'.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "RANDOM"}),
            "Invalid input for field/attribute lb_algorithm. Value: 'RANDOM'. Value should be one of:",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb}),
            "Invalid input for field/attribute lb_algorithm. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "APP_COOKIE"}}),
            "Validation failure: Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "HTTP_COOKIE", "cookie_name": "x"}}),
            "Validation failure: Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\".",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "APP_COOKIE", "cookie_name": "a b"}}),
            "Invalid input for field/attribute cookie_name. Value: 'a b'. Value should match the pattern",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "SOURCE_IP", "persistence_timeout": 10}}),
            "Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.",
        ),
        (
            json!({"protocol": "UDP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "HTTP_COOKIE"}}),
            "Validation failure: Session persistence of type HTTP_COOKIE is not supported for UDP/SCTP protocol pools.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "tls_enabled": true, "tls_versions": []}),
            "Validation failure: Empty TLS version list.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "alpn_protocols": ["spdy"]}),
            "Invalid input for field/attribute alpn_protocols. Value: 'spdy'. Value should be a valid ALPN protocol ID",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "crl_container_ref": "crl"}),
            "Validation failure: A CA certificate reference is required to specify a revocation list.",
        ),
        (
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN", "foo": 1}),
            "Unknown attribute for argument pool_.pool: foo",
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = app
            .call("POST", POOLS, Some("p1"), Some(json!({ "pool": body })))
            .await;
        assert_eq!(s, 400, "{body}: {b}");
        let got = b["faultstring"].as_str().unwrap();
        assert!(got.starts_with(msg), "{got}");
    }
    let (_, list) = app.call("GET", POOLS, Some("p1"), None).await;
    assert_eq!(list["pools"], json!([]));
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
}

#[tokio::test]
async fn pending_lb_is_409_and_other_projects_get_404() {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "TCP", 80).await;
    let id = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "LEAST_CONNECTIONS"}),
        )
        .await;
    let uri = format!("{POOLS}/{id}");
    let body =
        json!({"pool": {"protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}});
    // Another project: the LB and the pool do not exist for it.
    let (s, b) = app
        .call("POST", POOLS, Some("p2"), Some(body.clone()))
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (404, format!("Load Balancer {lb} not found.").as_str())
    );
    for method in ["GET", "DELETE"] {
        let (s, b) = app.call(method, &uri, Some("p2"), None).await;
        assert_eq!(
            (s, &b["faultstring"]),
            (404, &json!(format!("Pool {id} not found.")))
        );
    }
    let (s, _) = app
        .call(
            "PUT",
            &uri,
            Some("p2"),
            Some(json!({"pool": {"name": "x"}})),
        )
        .await;
    assert_eq!(s, 404);
    let (_, b) = app.call("GET", POOLS, Some("p2"), None).await;
    assert_eq!(b["pools"], json!([]));
    // While the LB is PENDING_UPDATE every pool change is 409 and nothing is written.
    let (s, _) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"pool": {"name": "renamed"}})),
        )
        .await;
    assert_eq!(s, 200);
    let immutable = json!(format!(
        "Load Balancer {lb} is immutable and cannot be updated."
    ));
    let (s, b) = app.call("POST", POOLS, Some("p1"), Some(body)).await;
    assert_eq!((s, &b["faultstring"]), (409, &immutable));
    let (s, b) = app.call("DELETE", &uri, Some("p1"), None).await;
    assert_eq!((s, &b["faultstring"]), (409, &immutable));
    let (_, list) = app.call("GET", POOLS, Some("p1"), None).await;
    assert_eq!(list["pools"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn update_rules_tls_defaults_and_immutable_fields() {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "HTTP", 80).await;
    let id = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN",
                   "tls_enabled": true, "session_persistence": {"type": "APP_COOKIE", "cookie_name": "a"}}),
        )
        .await;
    let uri = format!("{POOLS}/{id}");
    let got = app.get(&uri, "p1", "pool").await;
    assert_eq!(got["tls_versions"], json!(["TLSv1.2", "TLSv1.3"]));
    assert_eq!(got["alpn_protocols"], json!(["h2", "http/1.1", "http/1.0"]));
    assert!(
        got["tls_ciphers"]
            .as_str()
            .unwrap()
            .starts_with("TLS_AES_256")
    );
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"pool": {"protocol": "TCP"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Unknown attribute for argument pool_.pool: protocol")
        )
    );
    // PUT without a type keeps the stored one; null versions reset to the default.
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"pool": {"lb_algorithm": "SOURCE_IP",
            "session_persistence": {"cookie_name": "b"}, "tls_versions": null,
            "tls_ciphers": "ECDHE-RSA-AES256-GCM-SHA384"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let p = &b["pool"];
    assert_eq!(p["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(p["lb_algorithm"], "SOURCE_IP");
    assert_eq!(p["session_persistence"]["type"], "APP_COOKIE");
    assert_eq!(p["session_persistence"]["cookie_name"], "b");
    assert_eq!(p["tls_versions"], json!(["TLSv1.2", "TLSv1.3"]));
    assert_eq!(p["tls_ciphers"], "ECDHE-RSA-AES256-GCM-SHA384");
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    app.settle(&lb).await;
    // An empty object removes session persistence.
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"pool": {"session_persistence": {}}})),
        )
        .await;
    assert_eq!((s, &b["pool"]["session_persistence"]), (200, &json!(null)));
    app.settle(&lb).await;
    assert_eq!(
        app.get(&uri, "p1", "pool").await["provisioning_status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn udp_pools_accept_source_ip_timeout_and_granularity() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "UDP", 53).await;
    let (s, b) = app
        .call(
            "POST",
            POOLS,
            Some("p1"),
            Some(json!({"pool": {"protocol": "UDP", "listener_id": li,
            "lb_algorithm": "SOURCE_IP", "session_persistence": {"type": "SOURCE_IP",
            "persistence_timeout": "360", "persistence_granularity": "255.255.255.0"}}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["pool"]["session_persistence"]["persistence_timeout"], 360);
    assert_eq!(
        b["pool"]["session_persistence"]["persistence_granularity"],
        "255.255.255.0"
    );
    app.settle(&lb).await;
}

#[tokio::test]
async fn delete_cascades_and_refuses_while_an_l7_policy_redirects() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pid = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "listener_id": li, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    app.create(
        &format!("{POOLS}/{pid}/members"),
        "p1",
        "member",
        json!({"address": "10.0.0.10", "protocol_port": 80}),
    )
    .await;
    app.settle(&lb).await;
    let other = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let pol = app
        .create(
            "/v2.0/lbaas/l7policies",
            "p1",
            "l7policy",
            json!({"listener_id": li, "action": "REDIRECT_TO_POOL", "redirect_pool_id": other}),
        )
        .await;
    app.settle(&lb).await;
    let (s, b) = app
        .call("DELETE", &format!("{POOLS}/{other}"), Some("p1"), None)
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (
            409,
            format!("Pool {other} is in use by L7 policy {pol}").as_str()
        )
    );
    let (s, _) = app
        .call("DELETE", &format!("{POOLS}/{pid}"), Some("p1"), None)
        .await;
    assert_eq!(s, 204);
    let p = app.get(&format!("{POOLS}/{pid}"), "p1", "pool").await;
    assert_eq!(p["provisioning_status"], "PENDING_DELETE");
    app.settle(&lb).await;
    assert_eq!(
        app.call("GET", &format!("{POOLS}/{pid}"), Some("p1"), None)
            .await
            .0,
        404
    );
    let l = app
        .get(&format!("/v2.0/lbaas/listeners/{li}"), "p1", "listener")
        .await;
    assert_eq!(l["default_pool_id"], json!(null));
    let (s, _) = app
        .call("GET", &format!("{POOLS}/{pid}/members"), Some("p1"), None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn list_filters_paging_and_fields() {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "HTTP", 80).await;
    for name in ["a", "b", "c"] {
        app.pool(
            "p1",
            &lb,
            json!({"name": name, "protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    }
    let (_, b) = app
        .call(
            "GET",
            &format!("{POOLS}?loadbalancer_id={lb}&name=b"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["pools"].as_array().unwrap().len(), 1);
    assert!(b["pools"][0].get("loadbalancer_id").is_none());
    let (_, b) = app
        .call(
            "GET",
            &format!("{POOLS}?limit=2&sort=name:desc&fields=name"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["pools"], json!([{"name": "c"}, {"name": "b"}]));
    assert_eq!(b["pools_links"][0]["rel"], "next");
    let (s, _) = app
        .call("GET", &format!("{POOLS}?bogus=1"), Some("p1"), None)
        .await;
    assert_eq!(s, 400);
}
