//! L7 policy API tests.

use serde_json::{Value, json};

use crate::testutil::TestApp;

const POLS: &str = "/v2.0/lbaas/l7policies";

/// The listener's policies as (name, position), in position order.
async fn positions(app: &TestApp, li: &str) -> Vec<(String, i64)> {
    let (_, b) = app
        .call(
            "GET",
            &format!("{POLS}?listener_id={li}&sort=position"),
            Some("p1"),
            None,
        )
        .await;
    b["l7policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p: &Value| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["position"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pos(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect()
}

#[tokio::test]
async fn actions_targets_and_redirect_codes() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let (s, b) = app
        .call(
            "POST",
            POLS,
            Some("p1"),
            Some(json!({"l7policy": {"listener_id": li, "name": "policy1",
            "action": "REJECT", "admin_state_up": true}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let p = &b["l7policy"];
    assert_eq!(
        (
            &p["provisioning_status"],
            &p["position"],
            &p["redirect_http_code"],
            &p["rules"]
        ),
        (
            &json!("PENDING_CREATE"),
            &json!(1),
            &json!(null),
            &json!([])
        )
    );
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(app.lb_status(&lb, "p1").await, "PENDING_UPDATE");
    let l = app
        .get(&format!("/v2.0/lbaas/listeners/{li}"), "p1", "listener")
        .await;
    assert_eq!(l["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(l["l7policies"], json!([{"id": id}]));
    app.settle(&lb).await;
    // URL redirect gets 302 by default; prefix keeps the code sent.
    let (_, b) = app
        .call(
            "POST",
            POLS,
            Some("p1"),
            Some(json!({"l7policy": {"listener_id": li,
            "action": "REDIRECT_TO_URL", "redirect_url": "https://www.example.com/"}})),
        )
        .await;
    assert_eq!(b["l7policy"]["redirect_http_code"], 302);
    app.settle(&lb).await;
    let (_, b) = app
        .call("POST", POLS, Some("p1"), Some(json!({"l7policy": {"listener_id": li,
            "action": "REDIRECT_PREFIX", "redirect_prefix": "https://example.com", "redirect_http_code": 308}})))
        .await;
    assert_eq!(b["l7policy"]["redirect_http_code"], 308);
    app.settle(&lb).await;
    // A pool target implies REDIRECT_TO_POOL and clears the URL fields.
    let (s, b) = app
        .call(
            "PUT",
            &format!("{POLS}/{id}"),
            Some("p1"),
            Some(json!({"l7policy": {"redirect_pool_id": pool}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let p = &b["l7policy"];
    assert_eq!(
        (
            &p["action"],
            &p["redirect_pool_id"],
            &p["redirect_http_code"],
            &p["provisioning_status"]
        ),
        (
            &json!("REDIRECT_TO_POOL"),
            &json!(pool),
            &json!(null),
            &json!("PENDING_UPDATE")
        )
    );
    app.settle(&lb).await;
    // Back to REJECT clears the pool; the pool can then be deleted.
    let (_, b) = app
        .call(
            "PUT",
            &format!("{POLS}/{id}"),
            Some("p1"),
            Some(json!({"l7policy": {"action": "REJECT"}})),
        )
        .await;
    assert_eq!(b["l7policy"]["redirect_pool_id"], json!(null));
    app.settle(&lb).await;
    let status = app
        .get(
            &format!("/v2.0/lbaas/loadbalancers/{lb}/status"),
            "p1",
            "statuses",
        )
        .await;
    assert_eq!(status["loadbalancer"]["listeners"][0]["pools"], json!([]));
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let udp_pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "UDP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let http_pool = app
        .pool(
            "p1",
            &lb,
            json!({"protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let missing = "11111111-2222-3333-4444-555555555555";
    let cases = [
        (json!({"listener_id": li, "action": "REDIRECT_TO_URL"}), 400,
         "Invalid L7 Policy arguments: redirect_url must not be None".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_TO_POOL"}), 400,
         "Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_PREFIX"}), 400,
         "Invalid L7 Policy arguments: redirect_prefix must not be None".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_TO_URL", "redirect_url": "ftp://x"}), 400,
         "Invalid input for field/attribute redirect_url. Value: 'ftp://x'. Value must be a valid URL string".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_TO_URL", "redirect_url": "http://a.b", "redirect_http_code": 304}), 400,
         "Invalid input for field/attribute redirect_http_code. Value: '304'. Value should be one of: 301, 302, 303, 307, 308".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_TO_POOL", "redirect_pool_id": udp_pool}), 400,
         "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'.".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_PREFIX", "redirect_pool_id": http_pool,
                "redirect_prefix": "http://a.b"}), 400,
         "Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time".to_owned()),
        (json!({"listener_id": li, "action": "REDIRECT_TO_POOL", "redirect_pool_id": missing}), 404,
         format!("Pool {missing} not found.")),
        (json!({"listener_id": missing, "action": "REJECT"}), 404,
         format!("Listener {missing} not found.")),
        (json!({"listener_id": li, "action": "DROP"}), 400,
         "Invalid input for field/attribute action. Value: 'DROP'. Value should be one of:".to_owned()),
        (json!({"listener_id": li, "action": "REJECT", "position": 0}), 400,
         "Invalid input for field/attribute position. Value: '0'. Value should be greater or equal to 1".to_owned()),
    ];
    for (body, code, msg) in cases {
        let (s, b) = app
            .call("POST", POLS, Some("p1"), Some(json!({ "l7policy": body })))
            .await;
        let got = b["faultstring"].as_str().unwrap();
        assert_eq!(s, code, "{body}: {got}");
        assert!(got.starts_with(&msg), "{got}");
    }
    let (_, list) = app.call("GET", POLS, Some("p1"), None).await;
    assert_eq!(list["l7policies"], json!([]));
    assert_eq!(app.lb_status(&lb, "p1").await, "ACTIVE");
    // Another project sees neither the listener nor policies.
    let (s, _) = app
        .call(
            "POST",
            POLS,
            Some("p2"),
            Some(json!({"l7policy": {"listener_id": li, "action": "REJECT"}})),
        )
        .await;
    assert_eq!(s, 404);
    // An empty update is refused.
    let id = app
        .create(
            POLS,
            "p1",
            "l7policy",
            json!({"listener_id": li, "action": "REJECT"}),
        )
        .await;
    app.settle(&lb).await;
    let (s, b) = app
        .call(
            "PUT",
            &format!("{POLS}/{id}"),
            Some("p1"),
            Some(json!({"l7policy": {}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Invalid L7 Policy arguments: Invalid update options")
        )
    );
    assert_eq!(
        app.call("GET", &format!("{POLS}/{id}"), Some("p2"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn positions_insert_move_and_compact() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let mut ids = Vec::new();
    for (name, position) in [("a", None), ("b", None), ("c", Some(1)), ("d", Some(99))] {
        let mut body = json!({"listener_id": li, "action": "REJECT", "name": name});
        if let Some(p) = position {
            body["position"] = json!(p);
        }
        ids.push(app.create(POLS, "p1", "l7policy", body).await);
        app.settle(&lb).await;
    }
    assert_eq!(
        positions(&app, &li).await,
        pos(&[("c", 1), ("a", 2), ("b", 3), ("d", 4)])
    );
    // Move d to the front.
    let (s, _) = app
        .call(
            "PUT",
            &format!("{POLS}/{}", ids[3]),
            Some("p1"),
            Some(json!({"l7policy": {"position": 1}})),
        )
        .await;
    assert_eq!(s, 200);
    app.settle(&lb).await;
    assert_eq!(
        positions(&app, &li).await,
        pos(&[("d", 1), ("c", 2), ("a", 3), ("b", 4)])
    );
    // Deleting c re-compacts once the provider completes.
    assert_eq!(
        app.call("DELETE", &format!("{POLS}/{}", ids[2]), Some("p1"), None)
            .await
            .0,
        204
    );
    app.settle(&lb).await;
    assert_eq!(
        positions(&app, &li).await,
        pos(&[("d", 1), ("a", 2), ("b", 3)])
    );
    let l = app
        .get(&format!("/v2.0/lbaas/listeners/{li}"), "p1", "listener")
        .await;
    assert_eq!(
        l["l7policies"],
        json!([{"id": ids[3]}, {"id": ids[0]}, {"id": ids[1]}])
    );
}
