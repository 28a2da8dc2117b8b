//! `/loadbalancers/{id}/stats` and `/listeners/{id}/stats`: Octavia's body, zeros until the
//! controller writes `stats` rows, sums over hosts and listeners.

use serde_json::json;

use crate::{
    model::stats::{Counters, ListenerStats},
    store,
    testutil::TestApp,
};

fn row(id: &str, listener: &str, lb: &str, n: u64) -> ListenerStats {
    ListenerStats {
        id: id.into(),
        listener_id: listener.into(),
        loadbalancer_id: lb.into(),
        project_id: "p1".into(),
        counters: Counters {
            active_connections: n,
            bytes_in: 10 * n,
            bytes_out: 100 * n,
            request_errors: 1,
            total_connections: 2 * n,
        },
        created_at: "2026-01-01T00:00:00.000000".into(),
        updated_at: None,
    }
}

#[tokio::test]
async fn stats_are_zero_until_counters_are_written() {
    let app = TestApp::frozen().await;
    let (lb, listener) = app.lb_and_listener("p1", "TCP", 80).await;
    let zeros = json!({"active_connections": 0, "bytes_in": 0, "bytes_out": 0,
                       "request_errors": 0, "total_connections": 0});
    let (s, b) = app
        .call(
            "GET",
            &format!("/v2/lbaas/loadbalancers/{lb}/stats"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!((s, b), (200, json!({"stats": zeros})));
    let (s, b) = app
        .call(
            "GET",
            &format!("/v2.0/lbaas/listeners/{listener}/stats"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!((s, b), (200, json!({"stats": zeros})));
}

#[tokio::test]
async fn stats_sum_hosts_per_listener_and_listeners_per_load_balancer() {
    let app = TestApp::frozen().await;
    let (lb, a) = app.lb_and_listener("p1", "TCP", 80).await;
    let b = app
        .create(
            "/v2/lbaas/listeners",
            "p1",
            "listener",
            json!({"protocol": "UDP", "protocol_port": 53, "loadbalancer_id": lb}),
        )
        .await;
    app.settle(&lb).await;
    app.state
        .store
        .commit(vec![
            store::put(&row(&format!("{a}/host1"), &a, &lb, 1)).unwrap(),
            store::put(&row(&format!("{a}/host2"), &a, &lb, 2)).unwrap(),
            store::put(&row(&b, &b, &lb, 4)).unwrap(),
            // A listener that no longer exists does not count.
            store::put(&row("gone", "gone", &lb, 1000)).unwrap(),
        ])
        .await
        .unwrap();
    let listener_a = app
        .get(&format!("/v2/lbaas/listeners/{a}/stats"), "p1", "stats")
        .await;
    assert_eq!(
        listener_a,
        json!({"active_connections": 3, "bytes_in": 30, "bytes_out": 300,
               "request_errors": 2, "total_connections": 6})
    );
    let all = app
        .get(
            &format!("/v2/lbaas/loadbalancers/{lb}/stats"),
            "p1",
            "stats",
        )
        .await;
    assert_eq!(
        all,
        json!({"active_connections": 7, "bytes_in": 70, "bytes_out": 700,
               "request_errors": 3, "total_connections": 14})
    );
}

#[tokio::test]
async fn stats_of_unknown_or_foreign_objects_are_404() {
    let app = TestApp::frozen().await;
    let (lb, listener) = app.lb_and_listener("p1", "TCP", 80).await;
    let (s, b) = app
        .call(
            "GET",
            &format!("/v2/lbaas/listeners/{listener}/stats"),
            Some("p2"),
            None,
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (404, &json!(format!("Listener {listener} not found.")))
    );
    let (s, _) = app
        .call(
            "GET",
            &format!("/v2/lbaas/loadbalancers/{lb}/stats"),
            Some("p2"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, b) = app
        .call("GET", "/v2/lbaas/listeners/nope/stats", Some("p1"), None)
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (404, &json!("Listener nope not found."))
    );
}
