//! Quota API tests (`/quotas`, `/quotas/{project}`, `/quotas/{project}/default`,
//! `/quotas/defaults`): envelopes, both spellings, defaults, admin-only writes, 400s.

use serde_json::{Value, json};

use crate::testutil::TestApp;

const KEYS: [&str; 9] = [
    "loadbalancer",
    "load_balancer",
    "listener",
    "member",
    "pool",
    "healthmonitor",
    "health_monitor",
    "l7policy",
    "l7rule",
];

fn all(q: &Value, want: i64) -> bool {
    KEYS.iter().all(|k| q[*k] == want)
}

#[tokio::test]
async fn a_project_without_quota_gets_the_unlimited_defaults() {
    let app = TestApp::new().await;
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert!(all(&q, -1), "{q}");
    assert_eq!(
        (&q["project_id"], &q["tenant_id"]),
        (&json!("p1"), &json!("p1"))
    );
    let d = app
        .get("/v2.0/lbaas/quotas/p1/default", "p1", "quota")
        .await;
    assert!(all(&d, -1), "{d}");
    // OSC's `quota defaults show` asks for the project named "defaults".
    let (s, b) = app
        .call("GET", "/v2.0/lbaas/quotas/defaults", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["quota"]["project_id"], "defaults");
    assert!(all(&b["quota"], -1), "{b}");
}

#[tokio::test]
async fn put_sets_limits_with_either_spelling_and_returns_202_with_the_quota() {
    let app = TestApp::new().await;
    let (s, b) = app
        .call(
            "PUT",
            "/v2/lbaas/quotas/p1",
            None,
            Some(json!({"quota": {"load_balancer": 5, "healthmonitor": "7", "member": 0}})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let q = &b["quota"];
    assert_eq!(
        (&q["loadbalancer"], &q["load_balancer"]),
        (&json!(5), &json!(5))
    );
    assert_eq!(
        (&q["healthmonitor"], &q["health_monitor"]),
        (&json!(7), &json!(7))
    );
    assert_eq!((&q["member"], &q["listener"]), (&json!(0), &json!(-1)));
    // A second PUT changes only what it names; null goes back to the default.
    let (s, b) = app
        .call(
            "PUT",
            "/v2/lbaas/quotas/p1",
            None,
            Some(json!({"quota": {"loadbalancer": null, "l7rule": 3}})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert_eq!(
        (&q["loadbalancer"], &q["healthmonitor"], &q["l7rule"]),
        (&json!(-1), &json!(7), &json!(3))
    );
    // Defaults stay the configured ones.
    let d = app.get("/v2/lbaas/quotas/p1/default", "p1", "quota").await;
    assert!(all(&d, -1), "{d}");
}

#[tokio::test]
async fn bad_quota_bodies_are_400_and_change_nothing() {
    let app = TestApp::new().await;
    for (body, msg) in [
        (
            json!({"quota": {"listener": -2}}),
            "Invalid input for field/attribute listener. Value: '-2'. Value should be greater or equal to -1",
        ),
        (
            json!({"quota": {"pool": 2_000_000_001_i64}}),
            "Invalid input for field/attribute pool. Value: '2000000001'. Value should be lower or equal to 2000000000",
        ),
        (
            json!({"quota": {"member": "many"}}),
            "Invalid input for field/attribute member. Value: 'many'. Wrong type. Expected 'int', got other",
        ),
        (
            json!({"quota": {"listener": 1, "amphora": 1}}),
            "Unknown attribute for argument quotas.quota: amphora",
        ),
    ] {
        let (s, b) = app
            .call("PUT", "/v2/lbaas/quotas/p1", None, Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body}: {b}");
        assert_eq!(b["faultstring"], msg);
        assert_eq!(b["faultcode"], "Client");
    }
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert!(all(&q, -1), "a rejected PUT changed {q}");
    let (_, list) = app.call("GET", "/v2/lbaas/quotas", None, None).await;
    assert_eq!(list["quotas"], json!([]));
}

#[tokio::test]
async fn only_admins_write_and_projects_read_only_their_own() {
    let app = TestApp::new().await;
    let put = json!({"quota": {"listener": 1}});
    let (s, b) = app
        .call("PUT", "/v2/lbaas/quotas/p1", Some("p1"), Some(put.clone()))
        .await;
    assert_eq!(s, 403, "{b}");
    assert_eq!(
        b["faultstring"],
        "Policy does not allow this request to be performed."
    );
    assert_eq!(
        app.call("DELETE", "/v2/lbaas/quotas/p1", Some("p1"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call("GET", "/v2/lbaas/quotas/p2", Some("p1"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call("GET", "/v2/lbaas/quotas/p2/default", Some("p1"), None)
            .await
            .0,
        403
    );
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert_eq!(q["listener"], -1, "the refused PUT was applied");
}

#[tokio::test]
async fn list_shows_projects_with_stored_quotas_scoped_to_the_caller() {
    let app = TestApp::new().await;
    for p in ["p1", "p2"] {
        let (s, _) = app
            .call(
                "PUT",
                &format!("/v2/lbaas/quotas/{p}"),
                None,
                Some(json!({"quota": {"pool": 4}})),
            )
            .await;
        assert_eq!(s, 202);
    }
    let (s, b) = app.call("GET", "/v2.0/lbaas/quotas", None, None).await;
    assert_eq!(s, 200);
    let projects: Vec<&Value> = b["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| &q["project_id"])
        .collect();
    assert_eq!(projects, [&json!("p1"), &json!("p2")]);
    assert_eq!(b["quotas_links"], json!([]));
    // Values not set are shown as stored: null (the default applies).
    assert_eq!(
        (&b["quotas"][0]["pool"], &b["quotas"][0]["listener"]),
        (&json!(4), &Value::Null)
    );
    let (_, mine) = app
        .call("GET", "/v2.0/lbaas/quotas", Some("p2"), None)
        .await;
    assert_eq!(mine["quotas"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["quotas"][0]["project_id"], "p2");
    let (s, _) = app
        .call("GET", "/v2.0/lbaas/quotas?project_id=p1", Some("p2"), None)
        .await;
    assert_eq!(s, 403);
    let (_, one) = app
        .call("GET", "/v2.0/lbaas/quotas?project_id=p1", None, None)
        .await;
    assert_eq!(one["quotas"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn delete_resets_to_defaults_and_unknown_projects_are_404() {
    let app = TestApp::new().await;
    app.call(
        "PUT",
        "/v2/lbaas/quotas/p1",
        None,
        Some(json!({"quota": {"listener": 2}})),
    )
    .await;
    let (s, b) = app.call("DELETE", "/v2/lbaas/quotas/p1", None, None).await;
    assert_eq!((s, b), (202, Value::Null));
    let q = app.get("/v2/lbaas/quotas/p1", "p1", "quota").await;
    assert!(all(&q, -1), "{q}");
    let (_, list) = app.call("GET", "/v2/lbaas/quotas", None, None).await;
    assert_eq!(list["quotas"], json!([]));
    let (s, b) = app
        .call("DELETE", "/v2/lbaas/quotas/nobody", None, None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(b["faultstring"], "Quotas nobody not found.");
}

#[tokio::test]
async fn cli_project_lookups_resolve_any_name_to_that_project_id() {
    let app = TestApp::new().await;
    let (s, b) = app.call("GET", "/projects/demo", None, None).await;
    assert_eq!((s, &b["project"]["id"]), (200, &json!("demo")));
    let (s, b) = app.call("GET", "/v3/projects?name=demo", None, None).await;
    assert_eq!((s, &b["projects"][0]["name"]), (200, &json!("demo")));
    let (_, b) = app.call("GET", "/projects", None, None).await;
    assert_eq!(b["projects"], json!([]));
}

/// GET `uri` as project `p1` with `X-Roles: roles`; the status.
async fn get_as_p1(app: &TestApp, uri: &str, roles: &str) -> (u16, Value) {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let req = Request::builder()
        .uri(uri)
        .header("x-project-id", "p1")
        .header("x-roles", roles)
        .body(Body::empty())
        .unwrap();
    let resp = app.router().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn another_projects_quota_is_refused_on_every_path_unless_admin() {
    let app = TestApp::new().await;
    for p in ["p1", "p2"] {
        let (s, _) = app
            .call(
                "PUT",
                &format!("/v2/lbaas/quotas/{p}"),
                None,
                Some(json!({"quota": {"pool": 4}})),
            )
            .await;
        assert_eq!(s, 202);
    }
    for prefix in ["/v2.0/lbaas", "/v2/lbaas", "/v2"] {
        for path in [
            "/quotas/p2",
            "/quotas/p2.json",
            "/quotas/p2/default",
            "/quotas?project_id=p2",
        ] {
            let uri = format!("{prefix}{path}");
            let (s, b) = get_as_p1(&app, &uri, "member,reader").await;
            assert_eq!(
                (s, &b["faultstring"]),
                (
                    403,
                    &json!("Policy does not allow this request to be performed.")
                ),
                "{uri}"
            );
            let (s, b) = get_as_p1(&app, &uri, "admin").await;
            assert_eq!(s, 200, "{uri}: {b}");
        }
        // The list shows the caller's own project only; an admin sees all.
        let uri = format!("{prefix}/quotas");
        let (s, b) = get_as_p1(&app, &uri, "member").await;
        assert_eq!((s, &b["quotas"][0]["project_id"]), (200, &json!("p1")));
        assert_eq!(b["quotas"].as_array().map(Vec::len), Some(1), "{b}");
        let (_, b) = get_as_p1(&app, &uri, "admin").await;
        assert_eq!(b["quotas"].as_array().map(Vec::len), Some(2), "{b}");
        let (s, _) = get_as_p1(&app, &format!("{prefix}/quotas/p1"), "member").await;
        assert_eq!(s, 200);
    }
}
