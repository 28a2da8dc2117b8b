//! L7 rule API tests: the `rule`/`rules` envelope, per-type validation and `invert`.

use serde_json::json;

use crate::testutil::TestApp;

/// Frozen app with an ACTIVE REJECT policy: (app, lb, rules collection uri).
async fn fixture() -> (TestApp, String, String, String) {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pol = app
        .create(
            "/v2.0/lbaas/l7policies",
            "p1",
            "l7policy",
            json!({"listener_id": li, "action": "REJECT", "name": "policy1"}),
        )
        .await;
    app.settle(&lb).await;
    let uri = format!("/v2.0/lbaas/l7policies/{pol}/rules");
    (app, lb, pol, uri)
}

#[tokio::test]
async fn rule_envelope_create_lock_update_delete() {
    let (app, lb, pol, uri) = fixture().await;
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"rule": {"type": "PATH",
            "compare_type": "STARTS_WITH", "value": "/api", "admin_state_up": true}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let r = &b["rule"];
    assert_eq!(
        (
            &r["provisioning_status"],
            &r["invert"],
            &r["key"],
            &r["type"]
        ),
        (
            &json!("PENDING_CREATE"),
            &json!(false),
            &json!(null),
            &json!("PATH")
        )
    );
    assert!(r.get("name").is_none() && r.get("l7policy_id").is_none());
    let id = r["id"].as_str().unwrap().to_owned();
    let p = app
        .get(&format!("/v2.0/lbaas/l7policies/{pol}"), "p1", "l7policy")
        .await;
    assert_eq!(
        (&p["provisioning_status"], &p["rules"]),
        (&json!("PENDING_UPDATE"), &json!([{"id": id}]))
    );
    // Policy locked → the next rule change is 409 on the policy.
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"rule": {"type": "PATH",
            "compare_type": "EQUAL_TO", "value": "/x"}})),
        )
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (
            409,
            format!("L7Policy {pol} is immutable and cannot be updated.").as_str()
        )
    );
    app.settle(&lb).await;
    // The wrong envelope is an unknown attribute.
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"l7rule": {"type": "PATH",
            "compare_type": "EQUAL_TO", "value": "/x"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (400, &json!("Unknown attribute for argument rule_: l7rule"))
    );
    let (_, b) = app.call("GET", &uri, Some("p1"), None).await;
    assert_eq!(b["rules"].as_array().unwrap().len(), 1);
    assert_eq!(b["rules_links"], json!([]));
    // Update: merged validation, invert, null invert → false.
    let r_uri = format!("{uri}/{id}");
    let (s, b) = app
        .call(
            "PUT",
            &r_uri,
            Some("p1"),
            Some(json!({"rule": {"value": "/v2", "invert": true}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (&b["rule"]["value"], &b["rule"]["invert"]),
        (&json!("/v2"), &json!(true))
    );
    app.settle(&lb).await;
    let (s, b) = app
        .call(
            "PUT",
            &r_uri,
            Some("p1"),
            Some(json!({"rule": {"type": "HEADER"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key")
        )
    );
    let (s, b) = app
        .call(
            "PUT",
            &r_uri,
            Some("p1"),
            Some(json!({"rule": {"type": "HEADER", "key": "X-Env", "invert": null}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (&b["rule"]["key"], &b["rule"]["invert"]),
        (&json!("X-Env"), &json!(false))
    );
    app.settle(&lb).await;
    let got = app.get(&r_uri, "p1", "rule").await;
    assert_eq!(got["provisioning_status"], "ACTIVE");
    assert_eq!(app.call("GET", &r_uri, Some("p2"), None).await.0, 404);
    assert_eq!(app.call("DELETE", &r_uri, Some("p1"), None).await.0, 204);
    app.settle(&lb).await;
    assert_eq!(app.call("GET", &r_uri, Some("p1"), None).await.0, 404);
}

#[tokio::test]
async fn per_type_validation() {
    let (app, lb, _, uri) = fixture().await;
    let cases = [
        (
            json!({"type": "HEADER", "compare_type": "EQUAL_TO", "value": "v"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key",
        ),
        (
            json!({"type": "HEADER", "compare_type": "EQUAL_TO", "key": "bad key", "value": "v"}),
            "Error parsing L7Rule: Invalid characters in key",
        ),
        (
            json!({"type": "HEADER", "compare_type": "CONTAINS", "key": "X-A", "value": "a b"}),
            "Error parsing L7Rule: Invalid characters in header value",
        ),
        (
            json!({"type": "COOKIE", "compare_type": "EQUAL_TO", "key": "sid", "value": "a;b"}),
            "Error parsing L7Rule: Invalid characters in cookie value",
        ),
        (
            json!({"type": "PATH", "compare_type": "REGEX", "value": "(unclosed"}),
            "Error parsing L7Rule: Unable to parse regular expression:",
        ),
        (
            json!({"type": "FILE_TYPE", "compare_type": "STARTS_WITH", "value": "jpg"}),
            "Error parsing L7Rule: Invalid L7 Rule: invalid comparison type for rule type",
        ),
        (
            json!({"type": "PATH", "compare_type": "EQUAL_TO", "value": ""}),
            "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a value",
        ),
        (
            json!({"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "value": "yes"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7rule value yes is not a boolean True string.",
        ),
        (
            json!({"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "key": "k", "value": "true"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT does not use the \"key\" field.",
        ),
        (
            json!({"type": "SSL_VERIFY_RESULT", "compare_type": "EQUAL_TO", "value": "-1"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0",
        ),
        (
            json!({"type": "SSL_VERIFY_RESULT", "compare_type": "REGEX", "value": "0"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT only supports the EQUAL_TO compare type.",
        ),
        (
            json!({"type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO", "key": "1CN", "value": "x"}),
            "Error parsing L7Rule: Invalid L7 Rule: Invalid L7rule distinguished name field.",
        ),
        (
            json!({"type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO", "value": "x"}),
            "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_DN_FIELD needs to specify a key and a value.",
        ),
        (
            json!({"type": "PATH", "compare_type": "EQUAL_TO", "value": "a\nb"}),
            "Invalid input for field/attribute value. Value: 'a\nb'. Value should match the pattern ^[^\\r\\n]*$",
        ),
        (
            json!({"type": "URL", "compare_type": "EQUAL_TO", "value": "x"}),
            "Invalid input for field/attribute type. Value: 'URL'. Value should be one of:",
        ),
        (
            json!({"type": "PATH", "value": "x"}),
            "Invalid input for field/attribute compare_type. Value: 'None'. Mandatory field missing.",
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = app
            .call("POST", &uri, Some("p1"), Some(json!({ "rule": body })))
            .await;
        assert_eq!(s, 400, "{body}: {b}");
        let got = b["faultstring"].as_str().unwrap();
        assert!(got.starts_with(msg), "{body}: {got}");
    }
    let (_, b) = app.call("GET", &uri, Some("p1"), None).await;
    assert_eq!(b["rules"], json!([]));
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    for body in [
        json!({"type": "HOST_NAME", "compare_type": "ENDS_WITH", "value": ".example.com"}),
        json!({"type": "HEADER", "compare_type": "REGEX", "key": "User-Agent", "value": "^curl/.*"}),
        json!({"type": "COOKIE", "compare_type": "EQUAL_TO", "key": "env", "value": "beta"}),
        json!({"type": "FILE_TYPE", "compare_type": "EQUAL_TO", "value": "jpg", "invert": "yes"}),
        json!({"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "value": "TRUE"}),
        json!({"type": "SSL_VERIFY_RESULT", "compare_type": "EQUAL_TO", "value": "0"}),
        json!({"type": "SSL_DN_FIELD", "compare_type": "STARTS_WITH", "key": "CN", "value": "web"}),
    ] {
        let (s, b) = app
            .call("POST", &uri, Some("p1"), Some(json!({ "rule": body })))
            .await;
        assert_eq!(s, 201, "{body}: {b}");
        app.settle(&lb).await;
    }
    let (_, b) = app
        .call("GET", &format!("{uri}?invert=true"), Some("p1"), None)
        .await;
    assert_eq!(b["rules"].as_array().unwrap().len(), 1);
    assert_eq!(b["rules"][0]["type"], "FILE_TYPE");
}

#[tokio::test]
async fn at_most_fifty_rules_and_policy_delete_cascades() {
    let (app, lb, pol, uri) = fixture().await;
    for n in 0..50 {
        app.create(
            &uri,
            "p1",
            "rule",
            json!({"type": "PATH", "compare_type": "EQUAL_TO", "value": format!("/{n}")}),
        )
        .await;
        app.settle(&lb).await;
    }
    let (s, b) = app
        .call(
            "POST",
            &uri,
            Some("p1"),
            Some(json!({"rule": {"type": "PATH",
            "compare_type": "EQUAL_TO", "value": "/51"}})),
        )
        .await;
    assert_eq!(
        (s, b["faultstring"].as_str().unwrap()),
        (409, format!("Too many rules on L7 policy {pol}").as_str())
    );
    let (_, b) = app
        .call("GET", &format!("{uri}?limit=20"), Some("p1"), None)
        .await;
    assert_eq!(b["rules"].as_array().unwrap().len(), 20);
    assert_eq!(b["rules_links"][0]["rel"], "next");
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/v2.0/lbaas/l7policies/{pol}"),
            Some("p1"),
            None
        )
        .await
        .0,
        204
    );
    app.settle(&lb).await;
    assert_eq!(app.call("GET", &uri, Some("p1"), None).await.0, 404);
}
