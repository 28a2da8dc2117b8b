//! Amphora-host admin API and the amphora view (no agent: placement data written directly).

use serde_json::json;

use crate::{
    controller::host::Placement,
    store::{self},
    testutil::TestApp,
};

#[tokio::test]
async fn hosts_are_registered_listed_and_removed_by_admins_only() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let body = json!({"host": {"name": "amp1", "address": "192.0.2.21",
                               "subnets": ["private-subnet"], "snat_ipv4": "10.0.0.5",
                               "vip_interface": "eth0", "member_interface": "eth1"}});
    // A project member may not.
    let (s, b) = app
        .call("POST", "/v2/octavia/hosts", Some("p1"), Some(body.clone()))
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = app
        .call("POST", "/v2/octavia/hosts", None, Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["host"]["subnet_ids"],
        json!([subnet]),
        "subnet names resolve to ids"
    );
    assert_eq!(b["host"]["port"], 9443);
    assert_eq!(
        (
            b["host"]["vip_interface"].as_str(),
            b["host"]["member_interface"].as_str()
        ),
        (Some("eth0"), Some("eth1"))
    );
    let id = b["host"]["id"].as_str().unwrap().to_owned();
    // Same name again: 409; bad input: 400 with a fault body, nothing written.
    let (s, _) = app
        .call("POST", "/v2/octavia/hosts", None, Some(body))
        .await;
    assert_eq!(s, 409);
    for bad in [
        json!({"host": {"name": "amp2", "address": "not-an-ip"}}),
        json!({"host": {"name": "amp2", "address": "192.0.2.22", "snat_ipv4": "2001:db8::1"}}),
        json!({"host": {"name": "amp2", "address": "192.0.2.22", "subnets": ["nope"]}}),
        json!({"host": {"name": "amp2", "address": "192.0.2.22", "colour": "red"}}),
        json!({"host": {"name": "amp2", "address": "192.0.2.22", "vip_interface": "a/b"}}),
        json!({"hosts": {}}),
    ] {
        let (s, b) = app
            .call("POST", "/v2/octavia/hosts", None, Some(bad.clone()))
            .await;
        assert_eq!(s, 400, "{bad} → {b}");
        assert!(b["faultstring"].is_string(), "{b}");
    }
    let (s, b) = app.call("GET", "/v2/octavia/hosts", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["hosts"].as_array().unwrap().len(), 1);
    // Disable by name.
    let (s, b) = app
        .call(
            "PUT",
            "/v2/octavia/hosts/amp1",
            None,
            Some(json!({"host": {"admin_state_up": false}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["host"]["admin_state_up"], false);

    // In use: 409 on removal; the amphora view shows the placement.
    let lb = app.active_lb("p1", &subnet).await;
    let placement = Placement {
        lb_id: lb.clone(),
        amphora_id: "amp-0001".into(),
        host_id: id.clone(),
        created_at: crate::model::common::now(),
    };
    app.state
        .store
        .commit(vec![store::put(&placement).unwrap()])
        .await
        .unwrap();
    let (s, _) = app
        .call("DELETE", &format!("/v2/octavia/hosts/{id}"), None, None)
        .await;
    assert_eq!(s, 409);
    let (s, b) = app.call("GET", "/v2/octavia/amphorae", None, None).await;
    assert_eq!(s, 200);
    let amp = &b["amphorae"][0];
    assert_eq!(amp["id"], "amp-0001");
    assert_eq!(amp["loadbalancer_id"], lb.as_str());
    assert_eq!(amp["lb_network_ip"], "192.0.2.21");
    assert_eq!(amp["role"], "STANDALONE");
    let (s, _) = app
        .call("GET", "/v2/octavia/amphorae", Some("p1"), None)
        .await;
    assert_eq!(s, 403);
    // Failover of the amphora: accepted, the load balancer goes PENDING_UPDATE then back.
    let (s, _) = app
        .call("PUT", "/v2/octavia/amphorae/amp-0001/failover", None, None)
        .await;
    assert_eq!(s, 202);
    app.settle(&lb).await;
    app.state
        .store
        .commit(vec![store::delete::<Placement>(&lb)])
        .await
        .unwrap();
    let (s, _) = app
        .call("DELETE", "/v2/octavia/hosts/amp1", None, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call("GET", &format!("/v2/octavia/hosts/{id}"), None, None)
        .await;
    assert_eq!(s, 404);
}
