//! The status tree (`/loadbalancers/{id}/status`) over listeners, pools, members and monitors.

use serde_json::json;

use crate::testutil::TestApp;

#[tokio::test]
async fn status_tree_has_listeners_pools_members_and_health_monitor() {
    let app = TestApp::frozen().await;
    let (lb, li) = app.lb_and_listener("p1", "HTTP", 80).await;
    let pool = app
        .pool(
            "p1",
            &lb,
            json!({"name": "p1", "protocol": "HTTP", "listener_id": li, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let redirect = app
        .pool(
            "p1",
            &lb,
            json!({"name": "p2", "protocol": "HTTP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let member = app
        .create(
            &format!("/v2.0/lbaas/pools/{pool}/members"),
            "p1",
            "member",
            json!({"address": "192.0.2.10", "protocol_port": 80}),
        )
        .await;
    app.settle(&lb).await;
    let hm = app
        .create(
            "/v2.0/lbaas/healthmonitors",
            "p1",
            "healthmonitor",
            json!({"pool_id": pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}),
        )
        .await;
    app.settle(&lb).await;
    app.create(
        "/v2.0/lbaas/l7policies",
        "p1",
        "l7policy",
        json!({"listener_id": li, "action": "REDIRECT_TO_POOL", "redirect_pool_id": redirect}),
    )
    .await;
    app.settle(&lb).await;
    // A pool used by no listener is not in the tree.
    app.pool(
        "p1",
        &lb,
        json!({"name": "unused", "protocol": "TCP", "loadbalancer_id": lb, "lb_algorithm": "ROUND_ROBIN"}),
    )
    .await;
    let (s, b) = app
        .call(
            "GET",
            &format!("/v2/lbaas/loadbalancers/{lb}/status"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let tree = &b["statuses"]["loadbalancer"];
    assert_eq!(tree["provisioning_status"], "ACTIVE");
    let listeners = tree["listeners"].as_array().unwrap();
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0]["id"], json!(li));
    assert_eq!(listeners[0]["name"], "");
    let pools = listeners[0]["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    assert_eq!(
        pools[0],
        json!({"id": pool, "name": "p1", "provisioning_status": "ACTIVE", "operating_status": "OFFLINE",
            "health_monitor": {"id": hm, "name": "", "type": "TCP",
                "provisioning_status": "ACTIVE", "operating_status": "OFFLINE"},
            "members": [{"id": member, "name": "", "operating_status": "NO_MONITOR",
                "provisioning_status": "ACTIVE", "address": "192.0.2.10", "protocol_port": 80}]})
    );
    assert_eq!(pools[1]["id"], json!(redirect));
    assert_eq!(
        pools[1].get("health_monitor"),
        Some(&json!(null)),
        "null without a monitor"
    );
    assert_eq!(pools[1]["members"], json!([]));
    assert!(tree.get("pools").is_none());
}
