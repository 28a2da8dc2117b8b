//! Availability zone and availability zone profile tests, and load balancer create with
//! `availability_zone`.

use serde_json::{Value, json};

use crate::testutil::TestApp;

async fn az_profile(app: &TestApp, provider: &str, data: &str) -> String {
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/availabilityzoneprofiles",
            None,
            Some(json!({"availability_zone_profile": {"name": "azp", "provider_name": provider, "availability_zone_data": data}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["availability_zone_profile"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn zone(app: &TestApp, name: &str, profile: &str) -> (u16, Value) {
    app.call(
        "POST",
        "/v2/lbaas/availabilityzones",
        None,
        Some(json!({"availability_zone": {"name": name, "availability_zone_profile_id": profile}})),
    )
    .await
}

#[tokio::test]
async fn availability_zones_are_keyed_by_name_with_profiles() {
    let app = TestApp::new().await;
    let data = r#"{"compute_zone": "rack1"}"#;
    let azp = az_profile(&app, "amphora", data).await;
    let (s, b) = app
        .call("GET", "/v2/lbaas/availabilityzoneprofiles", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["availability_zone_profiles"][0]["availability_zone_data"],
        data
    );
    assert!(b.get("availability_zone_profile_links").is_some(), "{b}");
    let (s, b) = zone(&app, "az1", &azp).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["availability_zone"],
        json!({"name": "az1", "description": "", "enabled": true, "availability_zone_profile_id": azp})
    );
    let (s, b) = zone(&app, "az1", &azp).await;
    assert_eq!(
        (s, &b["faultstring"]),
        (409, &json!("A availability zone of az1 already exists."))
    );
    let z = app
        .get("/v2/lbaas/availabilityzones/az1", "p1", "availability_zone")
        .await;
    assert_eq!(z["name"], "az1");
    let (_, b) = app
        .call("GET", "/v2/lbaas/availabilityzones", Some("p1"), None)
        .await;
    assert_eq!(b["availability_zones"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["availability_zones_links"], json!([]));
    let (s, b) = app
        .call(
            "PUT",
            "/v2/lbaas/availabilityzones/az1",
            None,
            Some(json!({"availability_zone": {"description": "first"}})),
        )
        .await;
    assert_eq!(
        (s, &b["availability_zone"]["description"]),
        (200, &json!("first"))
    );
    let (s, b) = app
        .call(
            "PUT",
            "/v2/lbaas/availabilityzones/az1",
            None,
            Some(json!({"availability_zone": {"name": "az2"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Unknown attribute for argument availability_zone_.availability_zone: name")
        )
    );
    assert_eq!(
        app.call(
            "PUT",
            "/v2/lbaas/availabilityzones/az1",
            Some("p1"),
            Some(json!({"availability_zone": {}}))
        )
        .await
        .0,
        403
    );
    let (s, b) = app
        .call(
            "DELETE",
            &format!("/v2/lbaas/availabilityzoneprofiles/{azp}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            409,
            &json!(format!(
                "Availability Zone Profile {azp} is in use and cannot be modified."
            ))
        )
    );
    assert_eq!(
        app.call("DELETE", "/v2/lbaas/availabilityzones/az1", None, None)
            .await
            .0,
        204
    );
    let (s, b) = app
        .call("GET", "/v2/lbaas/availabilityzones/az1", None, None)
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (404, &json!("Availability Zone az1 not found."))
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/v2/lbaas/availabilityzoneprofiles/{azp}"),
            None,
            None
        )
        .await
        .0,
        204
    );
}

#[tokio::test]
async fn az_profile_data_is_checked_by_the_provider() {
    let app = TestApp::new().await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/availabilityzoneprofiles",
            None,
            Some(json!({"availability_zone_profile": {"name": "x", "provider_name": "amphora", "availability_zone_data": r#"{"valid_vip_networks": "n1"}"#}})),
        )
        .await;
    assert_eq!(s, 501, "{b}");
    assert_eq!(
        b["faultstring"],
        "Provider 'amphora' does not support a requested option: valid_vip_networks 'n1' is not of type 'array'"
    );
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/availabilityzoneprofiles",
            None,
            Some(json!({"availability_zone_profile": {"name": "x", "provider_name": "noop", "availability_zone_data": "[1"}})),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("[1 is not a valid option for availability_zone_data")
        )
    );
    let missing = "00000000-0000-0000-0000-000000000003";
    let (s, b) = zone(&app, "az9", missing).await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!(format!(
                "Validation failure: Availability Zone Profile {missing} not found."
            ))
        )
    );
}

#[tokio::test]
async fn load_balancer_create_validates_its_availability_zone() {
    let app = TestApp::new().await;
    let subnet = app.subnet().await;
    // An amphora-only key: the noop provider accepts it, and amphora does too.
    let azp = az_profile(&app, "amphora", r#"{"valid_vip_networks": []}"#).await;
    zone(&app, "az1", &azp).await;
    let post = |az: &str, provider: &str| json!({"loadbalancer": {"vip_subnet_id": subnet, "availability_zone": az, "provider": provider}});
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(post("az1", "noop")),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["loadbalancer"]["availability_zone"], "az1");
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(post("nowhere", "noop")),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("Validation failure: Invalid availability zone.")
        )
    );
    app.call(
        "PUT",
        "/v2/lbaas/availabilityzones/az1",
        None,
        Some(json!({"availability_zone": {"enabled": false}})),
    )
    .await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(post("az1", "noop")),
        )
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            400,
            &json!("The selected availability_zone is not allowed in this deployment: az1")
        )
    );
    let (s, b) = app
        .call("DELETE", "/v2/lbaas/availabilityzones/az1", None, None)
        .await;
    assert_eq!(
        (s, &b["faultstring"]),
        (
            409,
            &json!("Availability Zone az1 is in use and cannot be modified.")
        )
    );
    // A zone whose data the chosen provider rejects.
    let noop_only = az_profile(&app, "noop", r#"{"volume_zone": "v"}"#).await;
    zone(&app, "az2", &noop_only).await;
    let (s, b) = app
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some("p1"),
            Some(post("az2", "amphora")),
        )
        .await;
    assert_eq!(s, 501, "{b}");
    assert_eq!(
        b["faultstring"],
        "Provider 'amphora' does not support a requested option: Additional properties are not allowed ('volume_zone' was unexpected)"
    );
    let (_, list) = app
        .call("GET", "/v2/lbaas/loadbalancers", Some("p1"), None)
        .await;
    assert_eq!(list["loadbalancers"].as_array().map(Vec::len), Some(1));
}
