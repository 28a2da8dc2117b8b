//! Neutron subset tests.

use serde_json::json;

use crate::testutil::TestApp;

#[tokio::test]
async fn subnet_lookup_by_name_and_id_as_the_cli_does() {
    let app = TestApp::new().await;
    let id = app.subnet().await;
    let (s, b) = app
        .call("GET", "/v2.0/subnets?name=private-subnet", Some("p1"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["subnets"].as_array().unwrap().len(), 1);
    assert_eq!(b["subnets"][0]["id"], id.as_str());
    assert_eq!(
        b["subnets"][0]["allocation_pools"],
        json!([{"start": "10.0.0.2", "end": "10.0.0.254"}])
    );
    assert_eq!(b["subnets"][0]["gateway_ip"], "10.0.0.1");
    let (_, b) = app
        .call("GET", &format!("/v2.0/subnets?id={id}"), Some("p1"), None)
        .await;
    assert_eq!(b["subnets"].as_array().unwrap().len(), 1);
    let (_, b) = app
        .call("GET", "/v2.0/networks?name=private", Some("p1"), None)
        .await;
    assert_eq!(b["networks"][0]["subnets"], json!([id]));
    let (s, b) = app
        .call(
            "GET",
            "/v2.0/subnets/8e3a5d0e-0000-4000-8000-000000000000",
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(b["NeutronError"]["type"], "NotFound");
}

#[tokio::test]
async fn private_networks_are_per_project_and_in_use_subnets_stay() {
    let app = TestApp::new().await;
    let (s, n) = app
        .call(
            "POST",
            "/v2.0/networks",
            Some("p1"),
            Some(json!({"network": {"name": "mine"}})),
        )
        .await;
    assert_eq!(s, 201);
    let nid = n["network"]["id"].as_str().unwrap();
    let (s, sn) = app
        .call(
            "POST",
            "/v2.0/subnets",
            Some("p1"),
            Some(
                json!({"subnet": {"network_id": nid, "cidr": "192.168.7.0/29",
            "allocation_pools": [{"start": "192.168.7.4", "end": "192.168.7.5"}]}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    let sid = sn["subnet"]["id"].as_str().unwrap();
    let (_, b) = app.call("GET", "/v2.0/networks", Some("p2"), None).await;
    assert_eq!(b["networks"], json!([]));
    // A port takes the first pool address; the subnet is then in use.
    let (s, p) = app
        .call(
            "POST",
            "/v2.0/ports",
            Some("p1"),
            Some(json!({"port": {"network_id": nid}})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        p["port"]["fixed_ips"][0],
        json!({"subnet_id": sid, "ip_address": "192.168.7.4"})
    );
    assert_eq!(
        app.call("DELETE", &format!("/v2.0/subnets/{sid}"), Some("p1"), None)
            .await
            .0,
        409
    );
    let pid = p["port"]["id"].as_str().unwrap();
    assert_eq!(
        app.call("DELETE", &format!("/v2.0/ports/{pid}"), Some("p1"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call("DELETE", &format!("/v2.0/subnets/{sid}"), Some("p1"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call("DELETE", &format!("/v2.0/networks/{nid}"), Some("p1"), None)
            .await
            .0,
        204
    );
    // Bad CIDR → 400 with Neutron's body.
    let (s, b) = app
        .call(
            "POST",
            "/v2.0/subnets",
            Some("p1"),
            Some(json!({"subnet": {"network_id": nid, "cidr": "nope"}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["NeutronError"]["type"], "BadRequest");
}

#[tokio::test]
async fn lb_on_network_only_and_on_a_given_port() {
    let app = TestApp::new().await;
    app.subnet().await;
    let (_, n) = app
        .call("GET", "/v2.0/networks?name=private", Some("p1"), None)
        .await;
    let nid = n["networks"][0]["id"].as_str().unwrap();
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_network_id": nid, "vip_address": "10.0.0.50"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["vip_address"], "10.0.0.50");
    // Same address again → 409.
    let (s, _) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_network_id": nid, "vip_address": "10.0.0.50"}})),
        )
        .await;
    assert_eq!(s, 409);
    let (_, p) = app
        .call(
            "POST",
            "/v2.0/ports",
            Some("p1"),
            Some(json!({"port": {"network_id": nid}})),
        )
        .await;
    let pid = p["port"]["id"].as_str().unwrap();
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_port_id": pid}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["loadbalancer"]["vip_address"],
        p["port"]["fixed_ips"][0]["ip_address"]
    );
}
