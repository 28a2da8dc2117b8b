//! Health monitor API tests.

use serde_json::json;

use crate::testutil::TestApp;

const HMS: &str = "/v2.0/lbaas/healthmonitors";

/// Frozen app, ACTIVE LB and a pool of `protocol` on it: (app, lb, pool).
async fn fixture(protocol: &str) -> (TestApp, String, String) {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "TCP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": protocol, "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    (app, lb, pool)
}

#[tokio::test]
async fn create_http_defaults_lock_and_one_per_pool() {
    let (app, lb, pool) = fixture("HTTP").await;
    let (s, b) = app
        .call(
            "POST",
            HMS,
            Some("p1"),
            Some(json!({"healthmonitor": {"pool_id": pool, "name": "hm1",
            "delay": 5, "timeout": 4, "max_retries": 3, "type": "HTTP", "url_path": "/healthz",
            "admin_state_up": true}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let h = &b["healthmonitor"];
    assert_eq!(h["provisioning_status"], "PENDING_CREATE");
    assert_eq!(h["operating_status"], "OFFLINE");
    assert_eq!(
        (
            &h["http_method"],
            &h["url_path"],
            &h["expected_codes"],
            &h["max_retries_down"]
        ),
        (&json!("GET"), &json!("/healthz"), &json!("200"), &json!(3))
    );
    assert_eq!(h["pools"], json!([{"id": pool}]));
    assert_eq!(h["http_version"], json!(null));
    let id = h["id"].as_str().unwrap();
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    let p = app
        .get(&format!("/v2.0/lbaas/pools/{pool}"), "p1", "pool")
        .await;
    assert_eq!(
        (&p["provisioning_status"], &p["healthmonitor_id"]),
        (&json!("PENDING_UPDATE"), &json!(id))
    );
    app.settle(&lb).await;
    assert_eq!(
        app.get(&format!("{HMS}/{id}"), "p1", "healthmonitor").await["provisioning_status"],
        "ACTIVE"
    );
    let (s, b) = app
        .call(
            "POST",
            HMS,
            Some("p1"),
            Some(json!({"healthmonitor": {"pool_id": pool,
            "delay": 5, "timeout": 4, "max_retries": 3, "type": "TCP"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (409, &json!("This pool already has a health monitor"))
    );
    // Members created now start OFFLINE instead of NO_MONITOR.
    let (_, b) = app
        .call(
            "POST",
            &format!("/v2.0/lbaas/pools/{pool}/members"),
            Some("p1"),
            Some(json!({"member": {"address": "10.0.0.5", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(b["member"]["operating_status"], "OFFLINE");
}

#[tokio::test]
async fn types_allowed_per_pool_protocol() {
    for (protocol, kind, ok) in [
        ("UDP", "UDP-CONNECT", true),
        ("UDP", "HTTP", true),
        ("UDP", "TCP", true),
        ("UDP", "SCTP", true),
        ("UDP", "PING", false),
        ("UDP", "HTTPS", false),
        ("SCTP", "SCTP", true),
        ("SCTP", "TLS-HELLO", false),
        ("TCP", "TLS-HELLO", true),
        ("TCP", "PING", true),
        ("HTTPS", "HTTPS", true),
        ("HTTP", "UDP-CONNECT", false),
        ("PROXY", "SCTP", false),
    ] {
        let (app, lb, pool) = fixture(protocol).await;
        let (s, b) = app
            .call(
                "POST",
                HMS,
                Some("p1"),
                Some(json!({"healthmonitor": {"pool_id": pool,
                "delay": 5, "timeout": 3, "max_retries": 2, "type": kind}})),
            )
            .await;
        if ok {
            assert_eq!(s, 201, "{protocol}/{kind}: {b}");
            let http = matches!(kind, "HTTP" | "HTTPS");
            assert_eq!(b["healthmonitor"]["url_path"].is_null(), !http);
        } else {
            assert_eq!(s, 400, "{protocol}/{kind}: {b}");
            let expected = if matches!(protocol, "UDP" | "SCTP") {
                format!(
                    "Validation failure: The associated pool protocol is {protocol}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
                )
            } else {
                format!(
                    "Validation failure: The {kind} type is only supported for pools of type UDP/SCTP."
                )
            };
            assert_eq!(b["faultstring"], expected);
            assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
        }
    }
}

#[tokio::test]
async fn field_validation_and_expected_codes_forms() {
    let (app, lb, pool) = fixture("HTTP").await;
    let base = json!({"pool_id": pool, "delay": 5, "timeout": 3, "max_retries": 2, "type": "HTTP"});
    let with = |extra: serde_json::Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        json!({ "healthmonitor": b })
    };
    let cases = [
        (
            json!({"expected_codes": "2000"}),
            "Invalid input for field/attribute expected_codes. Value: '2000'. Value should match the pattern",
        ),
        (
            json!({"expected_codes": "200-"}),
            "Invalid input for field/attribute expected_codes. Value: '200-'.",
        ),
        (
            json!({"expected_codes": "200,abc"}),
            "Invalid input for field/attribute expected_codes.",
        ),
        (
            json!({"url_path": "healthz"}),
            "Invalid input for field/attribute url_path. Value: 'healthz'. Value must be a valid URL Path string",
        ),
        (
            json!({"http_method": "FETCH"}),
            "Invalid input for field/attribute http_method. Value: 'FETCH'. Value should be one of:",
        ),
        (
            json!({"max_retries": 11}),
            "Invalid input for field/attribute max_retries. Value: '11'. Value should be lower or equal to 10",
        ),
        (
            json!({"max_retries_down": 0}),
            "Invalid input for field/attribute max_retries_down. Value: '0'. Value should be greater or equal to 1",
        ),
        (
            json!({"delay": -1}),
            "Invalid input for field/attribute delay. Value: '-1'. Value should be greater or equal to 0",
        ),
        (
            json!({"timeout": null}),
            "Invalid input for field/attribute timeout. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"http_version": 2.0}),
            "Invalid input for field/attribute http_version. Value: '2.0'. Value should be one of: 1.0, 1.1",
        ),
        (
            json!({"domain_name": "example.com"}),
            "Validation failure: 'http_version' must be specified when 'domain_name' is provided.",
        ),
        (
            json!({"domain_name": "example.com", "http_version": 1.0}),
            "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check",
        ),
        (
            json!({"domain_name": "-bad-.com", "http_version": 1.1}),
            "Invalid input for field/attribute domain_name. Value: '-bad-.com'. Value should match the pattern",
        ),
        (
            json!({"type": "TCP", "url_path": "/x"}),
            "url_path is not a valid option for health monitors of type TCP",
        ),
        (
            json!({"type": "PING", "http_method": "GET"}),
            "http_method is not a valid option for health monitors of type PING",
        ),
    ];
    for (extra, msg) in cases {
        let (s, b) = app
            .call("POST", HMS, Some("p1"), Some(with(extra.clone())))
            .await;
        assert_eq!(s, 400, "{extra}: {b}");
        let got = b["faultstring"].as_str().unwrap();
        assert!(got.starts_with(msg), "{extra}: {got}");
    }
    let (_, list) = app.call("GET", HMS, Some("p1"), None).await;
    assert_eq!(list["healthmonitors"], json!([]));
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    // Single code, list and range are all accepted, with http_version and domain_name.
    for codes in ["202", "200, 201,202", "200-299"] {
        let (s, b) = app
            .call(
                "POST",
                HMS,
                Some("p1"),
                Some(with(json!({"expected_codes": codes,
                "http_version": 1.1, "domain_name": "www.example.com", "http_method": "HEAD"}))),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["healthmonitor"]["expected_codes"], codes);
        assert_eq!(b["healthmonitor"]["http_version"], 1.1);
        let id = b["healthmonitor"]["id"].as_str().unwrap().to_owned();
        app.settle(&lb).await;
        assert_eq!(
            app.call("DELETE", &format!("{HMS}/{id}"), Some("p1"), None)
                .await
                .0,
            204
        );
        app.settle(&lb).await;
    }
}

#[tokio::test]
async fn udp_connect_minimum_delay() {
    let (app, _, pool) = fixture("UDP").await;
    let (s, b) = app
        .call(
            "POST",
            HMS,
            Some("p1"),
            Some(json!({"healthmonitor": {"pool_id": pool,
            "delay": 2, "timeout": 1, "max_retries": 2, "type": "UDP-CONNECT"}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["faultstring"],
        "Validation failure: The request delay value 2 should be larger than 3 for UDP-CONNECT health monitor type."
    );
}

#[tokio::test]
async fn update_nulls_reset_and_rules_hold() {
    let (app, lb, pool) = fixture("HTTP").await;
    let id = app
        .create(
            HMS,
            "p1",
            "healthmonitor",
            json!({"pool_id": pool, "delay": 5, "timeout": 3, "max_retries": 2, "type": "HTTP",
                   "http_method": "POST", "url_path": "/x", "expected_codes": "201", "max_retries_down": 5}),
        )
        .await;
    app.settle(&lb).await;
    let uri = format!("{HMS}/{id}");
    for (body, msg) in [
        (
            json!({"delay": null}),
            "None is not a valid option for delay",
        ),
        (
            json!({"type": "TCP"}),
            "Unknown attribute for argument health_monitor_.healthmonitor: type",
        ),
        (
            json!({"pool_id": pool}),
            "Unknown attribute for argument health_monitor_.healthmonitor: pool_id",
        ),
    ] {
        let (s, b) = app
            .call(
                "PUT",
                &uri,
                Some("p1"),
                Some(json!({ "healthmonitor": body })),
            )
            .await;
        assert_eq!((s, b["faultstring"].as_str().unwrap()), (400, msg));
    }
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"healthmonitor": {"http_method": null,
            "url_path": null, "expected_codes": null, "max_retries_down": null, "delay": "10"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let h = &b["healthmonitor"];
    assert_eq!(h["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(
        (
            &h["http_method"],
            &h["url_path"],
            &h["expected_codes"],
            &h["max_retries_down"],
            &h["delay"]
        ),
        (
            &json!("GET"),
            &json!("/"),
            &json!("200"),
            &json!(3),
            &json!(10)
        )
    );
    app.settle(&lb).await;
    // Other projects see nothing; list filters by pool_id.
    assert_eq!(app.call("GET", &uri, Some("p2"), None).await.0, 404);
    let (_, b) = app
        .call(
            "GET",
            &format!("{HMS}?pool_id={pool}&type=HTTP"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["healthmonitors"].as_array().unwrap().len(), 1);
    assert!(b["healthmonitors"][0].get("pool_id").is_none());
    let (_, b) = app.call("GET", HMS, Some("p2"), None).await;
    assert_eq!(b["healthmonitors"], json!([]));
    assert_eq!(app.call("DELETE", &uri, Some("p1"), None).await.0, 204);
    let p = app
        .get(&format!("/v2.0/lbaas/pools/{pool}"), "p1", "pool")
        .await;
    assert_eq!(p["provisioning_status"], "PENDING_UPDATE");
    app.settle(&lb).await;
    assert_eq!(app.call("GET", &uri, Some("p1"), None).await.0, 404);
    let p = app
        .get(&format!("/v2.0/lbaas/pools/{pool}"), "p1", "pool")
        .await;
    assert_eq!(p["healthmonitor_id"], json!(null));
}
