//! Batch member update tests (`PUT /pools/{pool_id}/members`).

use serde_json::{Value, json};

use crate::testutil::TestApp;

async fn fixture() -> (TestApp, String, String) {
    let app = TestApp::frozen().await;
    let (lb, _) = app.lb_and_listener("p1", "TCP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    (app, lb, pool)
}

/// The pool's members as (address, port, weight, backup, provisioning_status), sorted.
async fn members(app: &TestApp, pool: &str) -> Vec<(String, i64, i64, bool, String)> {
    let (_, b) = app
        .call(
            "GET",
            &format!("/v2.0/lbaas/pools/{pool}/members?sort=address"),
            Some("p1"),
            None,
        )
        .await;
    b["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m: &Value| {
            (
                m["address"].as_str().unwrap().to_owned(),
                m["protocol_port"].as_i64().unwrap(),
                m["weight"].as_i64().unwrap(),
                m["backup"].as_bool().unwrap(),
                m["provisioning_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    a: &str,
    port: i64,
    weight: i64,
    backup: bool,
    st: &str,
) -> (String, i64, i64, bool, String) {
    (a.to_owned(), port, weight, backup, st.to_owned())
}

#[tokio::test]
async fn batch_creates_updates_and_deletes_by_address_and_port() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"members": [
                {"address": "10.0.0.1", "protocol_port": 80, "weight": 5, "backup": true},
                {"address": "10.0.0.2", "protocol_port": 80},
            ]})),
        )
        .await;
    assert_eq!((s, b), (202, Value::Null));
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    assert_eq!(
        members(&app, &pool).await,
        [
            row("10.0.0.1", 80, 5, true, "PENDING_CREATE"),
            row("10.0.0.2", 80, 1, false, "PENDING_CREATE")
        ]
    );
    app.settle(&lb).await;
    // 10.0.0.1 listed without weight/backup: MemberPOST defaults apply; .2 dropped; .3 new.
    let (s, _) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"members": [
                {"address": "10.0.0.1", "protocol_port": 80},
                {"address": "10.0.0.3", "protocol_port": 80, "weight": 7},
            ]})),
        )
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        members(&app, &pool).await,
        [
            row("10.0.0.1", 80, 1, false, "PENDING_UPDATE"),
            row("10.0.0.2", 80, 1, false, "PENDING_DELETE"),
            row("10.0.0.3", 80, 7, false, "PENDING_CREATE")
        ]
    );
    app.settle(&lb).await;
    assert_eq!(
        members(&app, &pool).await,
        [
            row("10.0.0.1", 80, 1, false, "ACTIVE"),
            row("10.0.0.3", 80, 7, false, "ACTIVE")
        ]
    );
}

#[tokio::test]
async fn additive_only_keeps_unlisted_members() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    app.create(
        &uri,
        "p1",
        "member",
        json!({"address": "10.0.0.1", "protocol_port": 80}),
    )
    .await;
    app.settle(&lb).await;
    let (s, _) = app
        .call(
            "PUT",
            &format!("{uri}?additive_only=true"),
            Some("p1"),
            Some(json!({"members": [{"address": "10.0.0.2", "protocol_port": 81}]})),
        )
        .await;
    assert_eq!(s, 202);
    app.settle(&lb).await;
    assert_eq!(
        members(&app, &pool).await,
        [
            row("10.0.0.1", 80, 1, false, "ACTIVE"),
            row("10.0.0.2", 81, 1, false, "ACTIVE")
        ]
    );
    // An empty list without additive_only deletes everything.
    let (s, _) = app
        .call("PUT", &uri, Some("p1"), Some(json!({"members": []})))
        .await;
    assert_eq!(s, 202);
    app.settle(&lb).await;
    assert_eq!(members(&app, &pool).await, []);
    // Nothing to change: 202 and the LB stays ACTIVE.
    let (s, _) = app
        .call("PUT", &uri, Some("p1"), Some(json!({"members": []})))
        .await;
    assert_eq!(s, 202);
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
}

#[tokio::test]
async fn batch_errors_write_nothing() {
    let (app, lb, pool) = fixture().await;
    let uri = format!("/v2.0/lbaas/pools/{pool}/members");
    app.create(
        &uri,
        "p1",
        "member",
        json!({"address": "10.0.0.1", "protocol_port": 80}),
    )
    .await;
    app.settle(&lb).await;
    let cases = [
        (
            json!({"members": [{"address": "10.0.0.1", "protocol_port": 80},
                               {"address": "10.0.0.1", "protocol_port": 80, "weight": 3}]}),
            400,
            "Validation failure: Member must be updated only once in the same request.",
        ),
        (
            json!({"members": [{"address": "10.0.0.2", "protocol_port": 80},
                               {"address": "10.0.0.2", "protocol_port": 80}]}),
            409,
            "Another member on this pool is already using ip 10.0.0.2 on protocol_port 80",
        ),
        (
            json!({"members": [{"address": "10.0.0.2", "protocol_port": 80, "weight": 300}]}),
            400,
            "Invalid input for field/attribute weight. Value: '300'. Value should be lower or equal to 256",
        ),
        (
            json!({"members": [{"address": "169.254.169.254", "protocol_port": 80}]}),
            400,
            "169.254.169.254 is not a valid option for member address",
        ),
        (
            json!({"member": []}),
            400,
            "Unknown attribute for argument members_: member",
        ),
    ];
    for (body, code, msg) in cases {
        let (s, b) = app.call("PUT", &uri, Some("p1"), Some(body)).await;
        assert_eq!((s, b["faultstring"].as_str().unwrap()), (code, msg));
    }
    assert_eq!(
        members(&app, &pool).await,
        [row("10.0.0.1", 80, 1, false, "ACTIVE")]
    );
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    // Pending LB → 409; another project → 404.
    let (s, _) = app
        .call(
            "PUT",
            &format!("{uri}/{}", "x"),
            Some("p1"),
            Some(json!({"member": {}})),
        )
        .await;
    assert_eq!(s, 404);
    app.call(
        "PUT",
        &format!("/v2.0/lbaas/pools/{pool}"),
        Some("p1"),
        Some(json!({"pool": {"name": "n"}})),
    )
    .await;
    let (s, b) = app
        .call("PUT", &uri, Some("p1"), Some(json!({"members": []})))
        .await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = app
        .call("PUT", &uri, Some("p2"), Some(json!({"members": []})))
        .await;
    assert_eq!(s, 404);
}
