//! Load balancer API tests.

use serde_json::json;

use crate::testutil::TestApp;

const LBS: &str = "/v2.0/lbaas/loadbalancers";

#[tokio::test]
async fn create_is_pending_then_active_with_octavia_fields() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let (s, b) = app
        .call(
            "POST",
            LBS,
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet, "admin_state_up": "true"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let lb = &b["loadbalancer"];
    assert_eq!(lb["provisioning_status"], "PENDING_CREATE");
    assert_eq!(lb["operating_status"], "OFFLINE");
    assert_eq!(lb["name"], "");
    assert_eq!(lb["description"], "");
    assert_eq!(lb["project_id"], "p1");
    assert_eq!(lb["tenant_id"], "p1");
    assert_eq!(lb["provider"], "amphora");
    assert_eq!(lb["vip_address"], "10.0.0.2");
    assert_eq!(lb["updated_at"], json!(null));
    assert_eq!(lb["listeners"], json!([]));
    let created = lb["created_at"].as_str().unwrap();
    assert!(
        created.len() == 26 && created.as_bytes()[10] == b'T' && !created.ends_with('Z'),
        "{created}"
    );
    let id = lb["id"].as_str().unwrap();
    // Same object under every prefix.
    for prefix in ["/v2.0/lbaas", "/v2/lbaas", "/v2"] {
        let got = app
            .wait_status(
                &format!("{prefix}/loadbalancers/{id}"),
                "p1",
                "loadbalancer",
                "ACTIVE",
            )
            .await;
        assert_eq!(got["id"], id);
    }
    // The VIP port exists in the registry and the next LB gets the next address.
    let port = lb["vip_port_id"].as_str().unwrap();
    let (s, p) = app
        .call("GET", &format!("/v2.0/ports/{port}"), Some("p1"), None)
        .await;
    assert_eq!(
        (s, &p["port"]["fixed_ips"][0]["ip_address"]),
        (200, &json!("10.0.0.2"))
    );
    let (_, b2) = app
        .call(
            "POST",
            LBS,
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(b2["loadbalancer"]["vip_address"], "10.0.0.3");
}

#[tokio::test]
async fn bad_input_is_400_fault_and_writes_nothing() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let cases = [
        (
            json!({"loadbalancer": {"name": "x"}}),
            "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": subnet, "foo": 1}}),
            "Unknown attribute for argument load_balancer.loadbalancer: foo",
        ),
        (
            json!({"vip_subnet_id": subnet}),
            "Unknown attribute for argument load_balancer: vip_subnet_id",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": subnet, "provider": "f5"}}),
            "Provider 'f5' is not enabled.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": "8e3a5d0e-0000-4000-8000-000000000000"}}),
            "Subnet 8e3a5d0e-0000-4000-8000-000000000000 not found.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": subnet, "vip_address": "192.168.9.9"}}),
            "Validation failure: IP address 192.168.9.9 is not in subnet ",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": subnet, "admin_state_up": "maybe"}}),
            "Invalid input for field/attribute admin_state_up.",
        ),
    ];
    for (body, msg) in cases {
        let (s, b) = app.call("POST", LBS, Some("p1"), Some(body.clone())).await;
        assert_eq!(s, 400, "{body} → {b}");
        assert_eq!(b["faultcode"], "Client");
        assert_eq!(b["debuginfo"], json!(null));
        assert!(b["faultstring"].as_str().unwrap().starts_with(msg), "{b}");
    }
    let (s, b) = app.call_raw("POST", LBS, "p1", "{not json").await;
    assert_eq!(
        (s, &b["faultstring"]),
        (400, &json!("Request is not in valid JSON format"))
    );
    let (_, list) = app.call("GET", LBS, Some("p1"), None).await;
    assert_eq!(list["loadbalancers"], json!([]));
    let (_, ports) = app.call("GET", "/v2.0/ports", None, None).await;
    assert_eq!(ports["ports"], json!([]));
}

#[tokio::test]
async fn missing_project_is_400_as_octavia_noauth() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let (s, b) = app
        .call(
            "POST",
            LBS,
            None,
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        b["faultstring"]
            .as_str()
            .unwrap()
            .contains("Missing project ID")
    );
}

#[tokio::test]
async fn other_projects_objects_are_404_and_hidden() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let id = app.active_lb("p1", &subnet).await;
    let uri = format!("{LBS}/{id}");
    for (m, body) in [
        ("GET", None),
        ("PUT", Some(json!({"loadbalancer": {"name": "x"}}))),
        ("DELETE", None),
    ] {
        let (s, b) = app.call(m, &uri, Some("p2"), body).await;
        assert_eq!(s, 404, "{m}");
        assert_eq!(b["faultstring"], format!("Load Balancer {id} not found."));
    }
    assert_eq!(
        app.call("GET", &format!("{uri}/status"), Some("p2"), None)
            .await
            .0,
        404
    );
    let (_, list) = app.call("GET", LBS, Some("p2"), None).await;
    assert_eq!(list["loadbalancers"], json!([]));
    // The admin (no project header in noauth) sees it.
    let (_, list) = app.call("GET", LBS, None, None).await;
    assert_eq!(list["loadbalancers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn update_and_delete_need_active_lb() {
    let app = TestApp::frozen().await;
    let subnet = app.subnet().await;
    let (_, b) = app
        .call(
            "POST",
            LBS,
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_subnet_id": subnet}})),
        )
        .await;
    let id = b["loadbalancer"]["id"].as_str().unwrap();
    let uri = format!("{LBS}/{id}");
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"loadbalancer": {"name": "n"}})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        b["faultstring"],
        format!("Invalid state PENDING_CREATE of loadbalancer resource {id}")
    );
    assert_eq!(app.call("DELETE", &uri, Some("p1"), None).await.0, 409);
}

#[tokio::test]
async fn update_delete_status_stats_and_failover() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let id = app.active_lb("p1", &subnet).await;
    let uri = format!("{LBS}/{id}");
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"loadbalancer": {"name": "renamed", "tags": ["a"]}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["loadbalancer"]["provisioning_status"], "PENDING_UPDATE");
    let got = app.wait_status(&uri, "p1", "loadbalancer", "ACTIVE").await;
    assert_eq!(
        (got["name"].clone(), got["tags"].clone()),
        (json!("renamed"), json!(["a"]))
    );
    let (s, b) = app
        .call(
            "PUT",
            &uri,
            Some("p1"),
            Some(json!({"loadbalancer": {"vip_address": "10.0.0.9"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Unknown attribute for argument load_balancer.loadbalancer: vip_address")
        )
    );

    let (s, b) = app
        .call("GET", &format!("{uri}/status"), Some("p1"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["statuses"]["loadbalancer"]["id"], id.as_str());
    assert_eq!(b["statuses"]["loadbalancer"]["listeners"], json!([]));
    let (s, b) = app
        .call("GET", &format!("{uri}/stats"), Some("p1"), None)
        .await;
    assert_eq!((s, &b["stats"]["bytes_in"]), (200, &json!(0)));

    // Failover is admin-only.
    assert_eq!(
        app.call("PUT", &format!("{uri}/failover"), Some("p1"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call("PUT", &format!("{uri}/failover"), None, None)
            .await
            .0,
        202
    );
    app.wait_status(&uri, "p1", "loadbalancer", "ACTIVE").await;

    let (s, _) = app.call("DELETE", &uri, Some("p1"), None).await;
    assert_eq!(s, 204);
    app.wait_gone(&uri, "p1").await;
    let (_, list) = app.call("GET", LBS, Some("p1"), None).await;
    assert_eq!(list["loadbalancers"], json!([]));
    // The VIP port was released.
    let (_, ports) = app.call("GET", "/v2.0/ports", None, None).await;
    assert_eq!(ports["ports"], json!([]));
}

#[tokio::test]
async fn list_filters_sorting_paging_and_fields() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    for (name, desc) in [("a", "z"), ("b", "y"), ("c", "x")] {
        let (s, _) = app
            .call("POST", LBS, Some("p1"), Some(json!({"loadbalancer": {"name": name, "description": desc, "vip_subnet_id": subnet}})))
            .await;
        assert_eq!(s, 201);
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, b) = app
        .call("GET", &format!("{LBS}?name=b"), Some("p1"), None)
        .await;
    assert_eq!(names(&b), ["b"]);
    let (_, b) = app
        .call(
            "GET",
            &format!("{LBS}?sort=description:asc"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(names(&b), ["c", "b", "a"]);
    let (_, b) = app
        .call("GET", &format!("{LBS}?limit=2"), Some("p1"), None)
        .await;
    assert_eq!(names(&b), ["a", "b"]);
    let next = b["loadbalancers_links"][0]["href"].as_str().unwrap();
    assert!(
        next.starts_with("http://lb.test:9876/v2.0/lbaas/loadbalancers?limit=2&marker="),
        "{next}"
    );
    let (_, b) = app
        .call(
            "GET",
            next.trim_start_matches("http://lb.test:9876"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(names(&b), ["c"]);
    let (_, b) = app
        .call(
            "GET",
            &format!("{LBS}?fields=id&fields=name&name=a"),
            Some("p1"),
            None,
        )
        .await;
    assert_eq!(b["loadbalancers"][0].as_object().unwrap().len(), 2);
    let (s, b) = app
        .call("GET", &format!("{LBS}?bogus=1"), Some("p1"), None)
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("One or more arguments are either duplicate or invalid")
        )
    );
    let (s, b) = app
        .call("GET", &format!("{LBS}?limit=abc"), Some("p1"), None)
        .await;
    assert_eq!(
        (s, &b["description"]),
        (400, &json!("Supplied pagination limit 'abc' is not valid."))
    );
}

#[tokio::test]
async fn providers_and_unknown_routes() {
    let app = TestApp::new().await;
    let (s, b) = app
        .call("GET", "/v2.0/lbaas/providers", Some("p1"), None)
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["amphora", "octavia", "noop"]);
    let (s, b) = app
        .call("GET", "/v2.0/lbaas/nothing", Some("p1"), None)
        .await;
    assert_eq!(
        (s, b),
        (
            404,
            json!({"code": 404, "title": "Not Found", "description": ""})
        )
    );
}
