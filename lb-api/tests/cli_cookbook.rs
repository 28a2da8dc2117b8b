//! The real `openstack` CLI (python-openstackclient 10.5.0 + python-octaviaclient 3.15.0,
//! installed by `cargo xtask setup` into a cached venv) against a live `lb-api serve` with its
//! embedded SQLite store, and again with a private PostgreSQL server (`--db postgres://...`, see
//! `src/testpg.rs`): the cookbook commands a tenant types, asserting on parsed output.
//! The CLI runs without Keystone (`OS_AUTH_TYPE=none`, one endpoint for Octavia and Neutron).

mod common;

use common::{Api, Db, cli_or_skip};
use serde_json::Value;

#[test]
fn load_balancer_and_listener_cookbook() {
    load_balancer_and_listener_cookbook_on(Db::Sqlite);
}

#[test]
fn load_balancer_and_listener_cookbook_postgres() {
    load_balancer_and_listener_cookbook_on(Db::Postgres);
}

fn load_balancer_and_listener_cookbook_on(db: Db) {
    let Some(cli) = cli_or_skip() else { return };
    let Some(api) = Api::start(cli, 100, db) else {
        return;
    };

    let network = api.json(&["network", "create", "private"]);
    assert_eq!(network["name"], "private");
    let subnet = api.json(&[
        "subnet",
        "create",
        "private-subnet",
        "--network",
        "private",
        "--subnet-range",
        "198.18.10.0/24",
    ]);
    assert_eq!(subnet["cidr"], "198.18.10.0/24");

    let lb = api.json(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--provider",
        "noop",
        "--wait",
    ]);
    assert_eq!(lb["provisioning_status"], "ACTIVE");
    assert_eq!(lb["vip_subnet_id"], subnet["id"]);
    let vip = lb["vip_address"].as_str().expect("vip_address");
    assert!(
        vip.starts_with("198.18.10."),
        "VIP {vip} outside the subnet"
    );

    let web = api.json(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "web",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        "--wait",
        "lb1",
    ]);
    assert_eq!(
        (web["protocol"].as_str(), web["protocol_port"].as_i64()),
        (Some("HTTP"), Some(80))
    );
    let tcp = api.json(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "tls",
        "--protocol",
        "TCP",
        "--protocol-port",
        "443",
        "--connection-limit",
        "1000",
        "--wait",
        "lb1",
    ]);
    assert_eq!(tcp["connection_limit"], 1000);
    assert_eq!(tcp["provisioning_status"], "ACTIVE");

    let port_id = api.ok(&[
        "loadbalancer",
        "show",
        "lb1",
        "-f",
        "value",
        "-c",
        "vip_port_id",
    ]);
    assert_eq!(
        port_id.trim(),
        lb["vip_port_id"].as_str().expect("vip_port_id")
    );
    let list = api.json(&["loadbalancer", "list"]);
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|x| x["name"] == "lb1")),
        "{list}"
    );
    let listeners = api.json(&["loadbalancer", "listener", "list", "--loadbalancer", "lb1"]);
    assert_eq!(listeners.as_array().map(Vec::len), Some(2));

    // `status show` prints JSON by itself (it takes no -f).
    let status: Value = serde_json::from_str(&api.ok(&["loadbalancer", "status", "show", "lb1"]))
        .expect("status tree is JSON");
    let tree = &status["loadbalancer"];
    assert_eq!(tree["name"], "lb1");
    assert_eq!(tree["listeners"].as_array().map(Vec::len), Some(2));
    let stats = api.json(&["loadbalancer", "stats", "show", "lb1"]);
    let listener_stats = api.json(&["loadbalancer", "listener", "stats", "show", "web"]);
    for key in [
        "active_connections",
        "bytes_in",
        "bytes_out",
        "request_errors",
        "total_connections",
    ] {
        assert_eq!(stats[key], 0, "{key} in {stats}");
        assert_eq!(listener_stats[key], 0, "{key} in {listener_stats}");
    }

    // Errors: a second listener on the same protocol port, an unknown subnet.
    let dup = api.fails(&[
        "loadbalancer",
        "listener",
        "create",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        "lb1",
    ]);
    assert!(
        dup.contains("409") || dup.to_lowercase().contains("already"),
        "{dup}"
    );
    let bad = api.fails(&[
        "loadbalancer",
        "create",
        "--name",
        "x",
        "--vip-subnet-id",
        "nope",
    ]);
    assert!(bad.contains("nope"), "{bad}");

    api.ok(&["loadbalancer", "delete", "--cascade", "--wait", "lb1"]);
    let list = api.json(&["loadbalancer", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

#[test]
fn changes_to_a_busy_load_balancer_are_refused() {
    changes_to_a_busy_load_balancer_are_refused_on(Db::Sqlite);
}

#[test]
fn changes_to_a_busy_load_balancer_are_refused_postgres() {
    changes_to_a_busy_load_balancer_are_refused_on(Db::Postgres);
}

fn changes_to_a_busy_load_balancer_are_refused_on(db: Db) {
    let Some(cli) = cli_or_skip() else { return };
    // The noop provider takes 30 s to finish: the LB stays PENDING_CREATE meanwhile.
    let Some(api) = Api::start(cli, 30_000, db) else {
        return;
    };
    api.ok(&["network", "create", "private"]);
    api.ok(&[
        "subnet",
        "create",
        "s",
        "--network",
        "private",
        "--subnet-range",
        "198.18.11.0/24",
    ]);
    let lb = api.json(&[
        "loadbalancer",
        "create",
        "--name",
        "busy",
        "--vip-subnet-id",
        "s",
    ]);
    assert_eq!(lb["provisioning_status"], "PENDING_CREATE");
    let err = api.fails(&[
        "loadbalancer",
        "listener",
        "create",
        "--protocol",
        "TCP",
        "--protocol-port",
        "80",
        "busy",
    ]);
    assert!(err.contains("immutable"), "{err}");
}

#[test]
fn pool_member_monitor_and_l7_cookbook() {
    pool_member_monitor_and_l7_cookbook_on(Db::Sqlite);
}

#[test]
fn pool_member_monitor_and_l7_cookbook_postgres() {
    pool_member_monitor_and_l7_cookbook_on(Db::Postgres);
}

fn pool_member_monitor_and_l7_cookbook_on(db: Db) {
    let Some(cli) = cli_or_skip() else { return };
    let Some(api) = Api::start(cli, 100, db) else {
        return;
    };
    api.ok(&["network", "create", "private"]);
    api.ok(&[
        "subnet",
        "create",
        "private-subnet",
        "--network",
        "private",
        "--subnet-range",
        "198.18.12.0/24",
    ]);
    api.ok(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--wait",
    ]);
    api.ok(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "web",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        "--wait",
        "lb1",
    ]);

    let pool = api.json(&[
        "loadbalancer",
        "pool",
        "create",
        "--name",
        "pool1",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        "web",
        "--protocol",
        "HTTP",
        "--session-persistence",
        "type=APP_COOKIE,cookie_name=sid",
        "--wait",
    ]);
    assert_eq!(pool["lb_algorithm"], "ROUND_ROBIN");
    assert!(
        pool["session_persistence"].to_string().contains("sid"),
        "{pool}"
    );
    for algorithm in ["LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"] {
        let p = api.json(&[
            "loadbalancer",
            "pool",
            "create",
            "--name",
            &algorithm.to_lowercase(),
            "--lb-algorithm",
            algorithm,
            "--loadbalancer",
            "lb1",
            "--protocol",
            "HTTP",
            "--wait",
        ]);
        assert_eq!(p["lb_algorithm"], algorithm);
    }
    let bad = api.fails(&[
        "loadbalancer",
        "pool",
        "create",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        "web",
        "--protocol",
        "UDP",
    ]);
    assert!(
        bad.contains("400") || bad.to_lowercase().contains("protocol"),
        "{bad}"
    );

    let m1 = api.json(&[
        "loadbalancer",
        "member",
        "create",
        "--subnet-id",
        "private-subnet",
        "--address",
        "198.18.12.11",
        "--protocol-port",
        "80",
        "--name",
        "m1",
        "--wait",
        "pool1",
    ]);
    assert_eq!(
        (m1["weight"].as_i64(), m1["protocol_port"].as_i64()),
        (Some(1), Some(80))
    );
    api.ok(&[
        "loadbalancer",
        "member",
        "create",
        "--address",
        "198.18.12.12",
        "--protocol-port",
        "80",
        "--name",
        "m2",
        "--wait",
        "pool1",
    ]);
    let m1_id = m1["id"].as_str().expect("member id");
    api.ok(&[
        "loadbalancer",
        "member",
        "set",
        "--weight",
        "0",
        "--wait",
        "pool1",
        m1_id,
    ]);
    let m1 = api.json(&["loadbalancer", "member", "show", "pool1", m1_id]);
    assert_eq!(m1["weight"], 0);
    let members = api.json(&["loadbalancer", "member", "list", "pool1"]);
    assert_eq!(members.as_array().map(Vec::len), Some(2));

    let hm = api.json(&[
        "loadbalancer",
        "healthmonitor",
        "create",
        "--delay",
        "1",
        "--max-retries",
        "2",
        "--timeout",
        "1",
        "--type",
        "HTTP",
        "--url-path",
        "/",
        "--wait",
        "pool1",
    ]);
    assert_eq!(
        (hm["type"].as_str(), hm["delay"].as_i64()),
        (Some("HTTP"), Some(1))
    );

    let policy = api.json(&[
        "loadbalancer",
        "l7policy",
        "create",
        "--action",
        "REDIRECT_TO_POOL",
        "--redirect-pool",
        "source_ip",
        "--name",
        "api",
        "--wait",
        "web",
    ]);
    assert_eq!(policy["action"], "REDIRECT_TO_POOL");
    let rule = api.json(&[
        "loadbalancer",
        "l7rule",
        "create",
        "--compare-type",
        "STARTS_WITH",
        "--type",
        "PATH",
        "--value",
        "/api",
        "--wait",
        "api",
    ]);
    assert_eq!(
        (rule["type"].as_str(), rule["value"].as_str()),
        (Some("PATH"), Some("/api"))
    );

    let status: Value = serde_json::from_str(&api.ok(&["loadbalancer", "status", "show", "lb1"]))
        .expect("status tree is JSON");
    let tree = status.to_string();
    for needle in ["pool1", "m1", "m2", "health_monitor"] {
        assert!(
            tree.contains(needle),
            "{needle} missing from the status tree: {tree}"
        );
    }

    api.ok(&["loadbalancer", "delete", "--cascade", "--wait", "lb1"]);
    let pools = api.json(&["loadbalancer", "pool", "list"]);
    assert_eq!(pools.as_array().map(Vec::len), Some(0), "{pools}");
}

#[test]
fn flavor_availability_zone_and_quota_cookbook() {
    flavor_availability_zone_and_quota_cookbook_on(Db::Sqlite);
}

#[test]
fn flavor_availability_zone_and_quota_cookbook_postgres() {
    flavor_availability_zone_and_quota_cookbook_on(Db::Postgres);
}

fn flavor_availability_zone_and_quota_cookbook_on(db: Db) {
    let Some(cli) = cli_or_skip() else { return };
    let Some(api) = Api::start(cli, 100, db) else {
        return;
    };
    api.ok(&["network", "create", "private"]);
    api.ok(&[
        "subnet",
        "create",
        "private-subnet",
        "--network",
        "private",
        "--subnet-range",
        "198.18.12.0/24",
    ]);

    let fp = api.json(&[
        "loadbalancer",
        "flavorprofile",
        "create",
        "--name",
        "fp-noop",
        "--provider",
        "noop",
        "--flavor-data",
        r#"{"amp_image_tag": "lb"}"#,
    ]);
    assert_eq!(fp["provider_name"], "noop");
    let flavor = api.json(&[
        "loadbalancer",
        "flavor",
        "create",
        "--name",
        "gold",
        "--flavorprofile",
        "fp-noop",
        "--description",
        "Gold service",
    ]);
    assert_eq!(
        (&flavor["enabled"], &flavor["flavor_profile_id"]),
        (&Value::Bool(true), &fp["id"])
    );
    let flavors = api.json(&["loadbalancer", "flavor", "list"]);
    assert_eq!(flavors[0]["name"], "gold", "{flavors}");
    let err = api.fails(&[
        "loadbalancer",
        "flavorprofile",
        "create",
        "--name",
        "bad",
        "--provider",
        "amphora",
        "--flavor-data",
        r#"{"loadbalancer_topology": "TRIPLE"}"#,
    ]);
    assert!(err.contains("does not support a requested option"), "{err}");

    let azp = api.json(&[
        "loadbalancer",
        "availabilityzoneprofile",
        "create",
        "--name",
        "azp-noop",
        "--provider",
        "noop",
        "--availability-zone-data",
        r#"{"compute_zone": "rack1"}"#,
    ]);
    assert_eq!(azp["provider_name"], "noop");
    let az = api.json(&[
        "loadbalancer",
        "availabilityzone",
        "create",
        "--name",
        "az1",
        "--availabilityzoneprofile",
        "azp-noop",
    ]);
    assert_eq!(az["availability_zone_profile_id"], azp["id"]);
    let zones = api.json(&["loadbalancer", "availabilityzone", "list"]);
    assert_eq!(zones[0]["name"], "az1", "{zones}");

    let quota = api.json(&[
        "loadbalancer",
        "quota",
        "set",
        "--loadbalancer",
        "1",
        "demo",
    ]);
    assert_eq!(quota["load_balancer"], 1, "{quota}");
    let lb = api.json(&[
        "loadbalancer",
        "create",
        "--name",
        "lb1",
        "--vip-subnet-id",
        "private-subnet",
        "--flavor",
        "gold",
        "--availability-zone",
        "az1",
        "--wait",
    ]);
    assert_eq!(
        (
            &lb["provider"],
            &lb["flavor_id"],
            &lb["availability_zone"],
            &lb["provisioning_status"]
        ),
        (
            &Value::from("noop"),
            &flavor["id"],
            &Value::from("az1"),
            &Value::from("ACTIVE")
        )
    );
    let err = api.fails(&[
        "loadbalancer",
        "create",
        "--name",
        "lb2",
        "--vip-subnet-id",
        "private-subnet",
    ]);
    assert!(
        err.contains("Quota has been met for resources: Load Balancer"),
        "{err}"
    );
    let err = api.fails(&["loadbalancer", "flavor", "delete", "gold"]);
    assert!(err.contains("is in use"), "{err}");

    api.ok(&["loadbalancer", "quota", "reset", "demo"]);
    let quota = api.json(&["loadbalancer", "quota", "show", "demo"]);
    assert_eq!(quota["load_balancer"], -1, "{quota}");
    let lbs = api.json(&["loadbalancer", "list"]);
    assert_eq!(lbs.as_array().map(Vec::len), Some(1), "{lbs}");
}
