//! Flavor and flavor profile tests (`/flavorprofiles`, `/flavors`), and load balancer create
//! with `flavor_id`.

use serde_json::{Value, json};

use crate::testutil::TestApp;

/// Create a flavor profile as admin; returns its id.
pub async fn profile(app: &TestApp, provider: &str, data: &str) -> String {
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/flavorprofiles",
            None,
            Some(json!({"flavorprofile": {"name": "fp", "provider_name": provider, "flavor_data": data}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["flavorprofile"]["id"].as_str().unwrap().to_owned()
}

/// Create a flavor as admin; returns its id.
pub async fn flavor(app: &TestApp, name: &str, profile: &str) -> String {
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/flavors",
            None,
            Some(json!({"flavor": {"name": name, "flavor_profile_id": profile}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["flavor"]["id"].as_str().unwrap().to_owned()
}

async fn fault(app: &TestApp, method: &str, uri: &str, body: Option<Value>) -> (u16, String) {
    let (s, b) = app.call(method, uri, None, body).await;
    (s, b["faultstring"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn flavor_profile_crud_with_octavias_envelopes() {
    let app = TestApp::new().await;
    let data = r#"{"loadbalancer_topology": "ACTIVE_STANDBY"}"#;
    let id = profile(&app, "amphora", data).await;
    let (s, b) = app
        .call("GET", &format!("/v2/lbaas/flavorprofiles/{id}"), None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["flavorprofile"],
        json!({"id": id, "name": "fp", "provider_name": "amphora", "flavor_data": data})
    );
    let (s, b) = app
        .call("GET", "/v2/lbaas/flavorprofiles", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["flavorprofiles"].as_array().map(Vec::len), Some(1));
    assert!(
        b.get("flavorprofile_links").is_some(),
        "links key is singular: {b}"
    );
    let (s, b) = app
        .call(
            "PUT",
            &format!("/v2/lbaas/flavorprofiles/{id}"),
            None,
            Some(json!({"flavorprofile": {"name": "renamed", "flavor_data": "{}"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["flavorprofile"]["name"],
            &b["flavorprofile"]["flavor_data"]
        ),
        (&json!("renamed"), &json!("{}"))
    );
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v2/lbaas/flavorprofiles/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        fault(&app, "GET", &format!("/v2/lbaas/flavorprofiles/{id}"), None).await,
        (404, format!("Flavor profile {id} not found."))
    );
}

#[tokio::test]
async fn flavor_profile_data_is_checked_by_the_provider() {
    let app = TestApp::new().await;
    let post = |provider: &str, data: &str| json!({"flavorprofile": {"name": "x", "provider_name": provider, "flavor_data": data}});
    for (body, status, msg) in [
        (post("amphora", "{nope"), 400, "{nope is not a valid option for flavor_data".to_owned()),
        (post("bogus", "{}"), 400, "Provider 'bogus' is not enabled.".to_owned()),
        (
            post("amphora", r#"{"loadbalancer_topology": "TRIPLE"}"#),
            501,
            "Provider 'amphora' does not support a requested option: loadbalancer_topology 'TRIPLE' is not one of ['SINGLE', 'ACTIVE_STANDBY']".to_owned(),
        ),
        (
            post("amphora", r#"{"compute_flavor": "m1"}"#),
            501,
            "Provider 'amphora' does not support a requested option: Additional properties are not allowed ('compute_flavor' was unexpected)".to_owned(),
        ),
        (
            json!({"flavorprofile": {"name": "x", "provider_name": "noop"}}),
            400,
            "Invalid input for field/attribute flavor_data. Value: 'None'. Mandatory field missing.".to_owned(),
        ),
        (
            json!({"flavorprofile": {"name": "x", "provider_name": "noop", "flavor_data": "{}", "id": "y"}}),
            400,
            "Unknown attribute for argument flavor_profile_.flavorprofile: id".to_owned(),
        ),
    ] {
        assert_eq!(
            fault(&app, "POST", "/v2/lbaas/flavorprofiles", Some(body.clone())).await,
            (status, msg),
            "{body}"
        );
    }
    // The noop provider accepts any object, as Octavia's noop driver does.
    profile(&app, "noop", r#"{"anything": 1}"#).await;
    let (_, b) = app
        .call("GET", "/v2/lbaas/flavorprofiles", None, None)
        .await;
    assert_eq!(
        b["flavorprofiles"].as_array().map(Vec::len),
        Some(1),
        "a refused POST was stored"
    );
}

#[tokio::test]
async fn flavors_are_admin_managed_and_readable_by_projects() {
    let app = TestApp::new().await;
    let fp = profile(&app, "noop", "{}").await;
    let id = flavor(&app, "gold", &fp).await;
    let f = app
        .get(&format!("/v2/lbaas/flavors/{id}"), "p1", "flavor")
        .await;
    assert_eq!(
        f,
        json!({"id": id, "name": "gold", "description": "", "enabled": true, "flavor_profile_id": fp})
    );
    let (s, b) = app
        .call("GET", "/v2/lbaas/flavors?name=gold", Some("p1"), None)
        .await;
    assert_eq!((s, b["flavors"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(b["flavors_links"], json!([]));
    // Projects cannot write; admins only.
    let (s, _) = app
        .call(
            "POST",
            "/v2/lbaas/flavors",
            Some("p1"),
            Some(json!({"flavor": {"name": "x", "flavor_profile_id": fp}})),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        app.call("GET", "/v2/lbaas/flavorprofiles", Some("p1"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        fault(
            &app,
            "POST",
            "/v2/lbaas/flavors",
            Some(json!({"flavor": {"name": "gold", "flavor_profile_id": fp}}))
        )
        .await,
        (409, "A flavor of gold already exists.".to_owned())
    );
    assert_eq!(
        fault(&app, "POST", "/v2/lbaas/flavors", Some(json!({"flavor": {"name": "x", "flavor_profile_id": "bogus"}}))).await,
        (400, "Invalid input for field/attribute flavor_profile_id. Value: 'bogus'. Value should be UUID format".to_owned())
    );
    let missing = "00000000-0000-0000-0000-000000000001";
    assert_eq!(
        fault(
            &app,
            "POST",
            "/v2/lbaas/flavors",
            Some(json!({"flavor": {"name": "x", "flavor_profile_id": missing}}))
        )
        .await,
        (
            400,
            format!("Validation failure: Flavor profile {missing} not found.")
        )
    );
    let (s, b) = app
        .call(
            "PUT",
            &format!("/v2/lbaas/flavors/{id}"),
            None,
            Some(json!({"flavor": {"enabled": false, "description": "d"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (&b["flavor"]["enabled"], &b["flavor"]["description"]),
        (&json!(false), &json!("d"))
    );
    assert_eq!(
        fault(
            &app,
            "PUT",
            &format!("/v2/lbaas/flavors/{id}"),
            Some(json!({"flavor": {"flavor_profile_id": fp}}))
        )
        .await,
        (
            400,
            "Unknown attribute for argument flavor_.flavor: flavor_profile_id".to_owned()
        )
    );
    // The profile is in use by the flavor.
    assert_eq!(
        fault(
            &app,
            "DELETE",
            &format!("/v2/lbaas/flavorprofiles/{fp}"),
            None
        )
        .await,
        (
            409,
            format!("Flavor profile {fp} is in use and cannot be modified.")
        )
    );
    assert_eq!(
        fault(
            &app,
            "PUT",
            &format!("/v2/lbaas/flavorprofiles/{fp}"),
            Some(json!({"flavorprofile": {"provider_name": "amphora"}}))
        )
        .await,
        (
            409,
            format!("Flavor profile {fp} is in use and cannot be modified.")
        )
    );
    assert_eq!(
        app.call("DELETE", &format!("/v2/lbaas/flavors/{id}"), None, None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/v2/lbaas/flavorprofiles/{fp}"),
            None,
            None
        )
        .await
        .0,
        204
    );
}

#[tokio::test]
async fn load_balancer_create_validates_its_flavor() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    let noop = flavor(&app, "noop-flavor", &profile(&app, "noop", "{}").await).await;
    let lb = |extra: Value| {
        let mut body = json!({"vip_subnet_id": subnet});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"loadbalancer": body})
    };
    // The flavor decides the provider.
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(lb(json!({"flavor_id": noop}))),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (
            &b["loadbalancer"]["provider"],
            &b["loadbalancer"]["flavor_id"]
        ),
        (&json!("noop"), &json!(noop))
    );
    let lb_id = b["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let unknown = "00000000-0000-0000-0000-000000000002";
    for (extra, msg) in [
        (
            json!({"flavor_id": unknown}),
            "Validation failure: Invalid flavor_id.".to_owned(),
        ),
        (
            json!({"flavor_id": noop, "provider": "amphora"}),
            format!("Flavor '{noop}' is not compatible with provider 'amphora'"),
        ),
    ] {
        let (s, b) = app
            .call(
                "POST",
                "/v2/lbaas/loadbalancers",
                Some("p1"),
                Some(lb(extra.clone())),
            )
            .await;
        assert_eq!(
            (s, b["faultstring"].as_str().unwrap_or_default()),
            (400, msg.as_str()),
            "{extra}"
        );
    }
    app.call(
        "PUT",
        &format!("/v2/lbaas/flavors/{noop}"),
        None,
        Some(json!({"flavor": {"enabled": false}})),
    )
    .await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(lb(json!({"flavor_id": noop}))),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["faultstring"],
        format!("The selected flavor is not allowed in this deployment: {noop}")
    );
    let (_, list) = app
        .call("GET", "/v2/lbaas/loadbalancers", Some("p1"), None)
        .await;
    assert_eq!(
        list["loadbalancers"].as_array().map(Vec::len),
        Some(1),
        "a refused create was stored"
    );
    // In use by the load balancer.
    assert_eq!(
        fault(&app, "DELETE", &format!("/v2/lbaas/flavors/{noop}"), None).await,
        (
            409,
            format!("Flavor {noop} is in use and cannot be modified.")
        )
    );
    app.wait_status(
        &format!("/v2/lbaas/loadbalancers/{lb_id}"),
        "p1",
        "loadbalancer",
        "ACTIVE",
    )
    .await;
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/v2/lbaas/loadbalancers/{lb_id}"),
            Some("p1"),
            None
        )
        .await
        .0,
        204
    );
    app.wait_gone(&format!("/v2/lbaas/loadbalancers/{lb_id}"), "p1")
        .await;
    assert_eq!(
        app.call("DELETE", &format!("/v2/lbaas/flavors/{noop}"), None, None)
            .await
            .0,
        204
    );
}

#[tokio::test]
async fn provider_capabilities_list_the_keys_each_provider_accepts() {
    let app = TestApp::new().await;
    let (s, b) = app
        .call(
            "GET",
            "/v2/lbaas/providers/amphora/flavor_capabilities",
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["flavor_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["loadbalancer_topology"]);
    let (_, b) = app
        .call(
            "GET",
            "/v2/lbaas/providers/noop/availability_zone_capabilities?name=volume_zone",
            None,
            None,
        )
        .await;
    assert_eq!(
        b,
        json!({"availability_zone_capabilities": [{"name": "volume_zone", "description": "The volume availability zone to use for this loadbalancer."}]})
    );
    assert_eq!(
        fault(
            &app,
            "GET",
            "/v2/lbaas/providers/bogus/flavor_capabilities",
            None
        )
        .await,
        (400, "Provider 'bogus' is not enabled.".to_owned())
    );
    assert_eq!(
        app.call(
            "GET",
            "/v2/lbaas/providers/amphora/flavor_capabilities",
            Some("p1"),
            None
        )
        .await
        .0,
        403
    );
}
