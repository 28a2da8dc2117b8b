//! The cookbook up to pools: the network the stub needs, the load balancer, listeners of each
//! protocol, pools of each algorithm and persistence type.

use serde_json::json;

use super::{LB, LI, MISSING, PO, Script};

/// Network, load balancer, listeners and pools, with their error cases.
pub fn objects(s: &mut Script) {
    // Neutron (lb-api's stub only; Octavia's noop network driver accepts any subnet id).
    s.post(
        "network",
        "/v2.0/networks",
        json!({"network": {"name": "private"}}),
    )
    .save("network", "/network/id")
    .lb_api_only();
    s.post(
        "subnet",
        "/v2.0/subnets",
        json!({"subnet": {"name": "private-subnet", "network_id": "{network}", "cidr": "198.18.10.0/24", "ip_version": 4}}),
    )
    .save("subnet", "/subnet/id")
    .lb_api_only();

    // ---- load balancer ----
    s.get("lb list empty", LB);
    s.post(
        "lb create",
        LB,
        json!({"loadbalancer": {"name": "lb1", "description": "first", "vip_subnet_id": "{subnet}"}}),
    )
    .save("lb", "/loadbalancer/id");
    s.get("lb show pending", &format!("{LB}/{{lb}}"));
    s.post(
        "listener create while lb pending",
        LI,
        json!({"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": "{lb}"}}),
    );
    s.settle();
    s.get("lb show active", &format!("{LB}/{{lb}}"));
    s.put(
        "lb update",
        &format!("{LB}/{{lb}}"),
        json!({"loadbalancer": {"name": "lb1-renamed", "description": "", "admin_state_up": true}}),
    );
    s.put(
        "lb update while pending",
        &format!("{LB}/{{lb}}"),
        json!({"loadbalancer": {"name": "again"}}),
    );
    s.settle();
    s.put(
        "lb update unknown attribute",
        &format!("{LB}/{{lb}}"),
        json!({"loadbalancer": {"bogus": 1}}),
    );
    s.put(
        "lb update create-only field",
        &format!("{LB}/{{lb}}"),
        json!({"loadbalancer": {"vip_subnet_id": "{subnet}"}}),
    );
    s.post(
        "lb create unknown attribute",
        LB,
        json!({"loadbalancer": {"vip_subnet_id": "{subnet}", "foo": "bar"}}),
    );
    s.post(
        "lb create no vip",
        LB,
        json!({"loadbalancer": {"name": "x"}}),
    );
    s.post(
        "lb create no envelope",
        LB,
        json!({"vip_subnet_id": "{subnet}"}),
    );
    s.post("lb create bad json", LB, json!(null))
        .raw("{not json");
    s.post(
        "lb create bad provider",
        LB,
        json!({"loadbalancer": {"vip_subnet_id": "{subnet}", "provider": "nope"}}),
    );
    s.get("lb show missing", &format!("{LB}/{MISSING}"));
    s.get("lb status", &format!("{LB}/{{lb}}/status"));
    s.get("lb stats", &format!("{LB}/{{lb}}/stats"));

    // ---- listeners ----
    s.post(
        "listener http",
        LI,
        json!({"listener": {"name": "web", "protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": "{lb}"}}),
    )
    .save("l_http", "/listener/id");
    s.get("lb show after listener", &format!("{LB}/{{lb}}"));
    s.settle();
    s.get("listener show", &format!("{LI}/{{l_http}}"));
    s.post(
        "listener tcp",
        LI,
        json!({"listener": {"name": "tcp", "protocol": "TCP", "protocol_port": "81", "connection_limit": "100", "loadbalancer_id": "{lb}"}}),
    )
    .save("l_tcp", "/listener/id");
    s.settle();
    s.post(
        "listener udp",
        LI,
        json!({"listener": {"name": "udp", "protocol": "UDP", "protocol_port": 53, "loadbalancer_id": "{lb}"}}),
    )
    .save("l_udp", "/listener/id");
    s.settle();
    s.post(
        "listener duplicate port",
        LI,
        json!({"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": "{lb}"}}),
    );
    s.post(
        "listener bad protocol",
        LI,
        json!({"listener": {"protocol": "FOO", "protocol_port": 82, "loadbalancer_id": "{lb}"}}),
    );
    s.post(
        "listener missing port",
        LI,
        json!({"listener": {"protocol": "HTTP", "loadbalancer_id": "{lb}"}}),
    );
    s.post(
        "listener port out of range",
        LI,
        json!({"listener": {"protocol": "HTTP", "protocol_port": 70000, "loadbalancer_id": "{lb}"}}),
    );
    s.post(
        "listener missing lb",
        LI,
        json!({"listener": {"protocol": "HTTP", "protocol_port": 83, "loadbalancer_id": MISSING}}),
    );
    s.post(
        "listener insert_headers on tcp",
        LI,
        json!({"listener": {"protocol": "TCP", "protocol_port": 84, "loadbalancer_id": "{lb}", "insert_headers": {"X-Forwarded-For": "true"}}}),
    );
    s.put(
        "listener update",
        &format!("{LI}/{{l_http}}"),
        json!({"listener": {"description": "d", "connection_limit": 50, "timeout_client_data": 1000, "insert_headers": {"X-Forwarded-For": "true"}}}),
    );
    s.settle();
    s.put(
        "listener update protocol",
        &format!("{LI}/{{l_http}}"),
        json!({"listener": {"protocol": "TCP"}}),
    );
    s.put(
        "listener update null resets",
        &format!("{LI}/{{l_http}}"),
        json!({"listener": {"connection_limit": null, "timeout_client_data": null}}),
    );
    s.settle();
    s.get("listener stats", &format!("{LI}/{{l_http}}/stats"));

    // ---- pools: one per algorithm, protocol pairings, session persistence ----
    s.post(
        "pool rr http cookie",
        PO,
        json!({"pool": {"name": "p-rr", "listener_id": "{l_http}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "HTTP_COOKIE"}}}),
    )
    .save("p_rr", "/pool/id");
    s.settle();
    s.post(
        "pool lc app cookie",
        PO,
        json!({"pool": {"name": "p-lc", "loadbalancer_id": "{lb}", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS", "session_persistence": {"type": "APP_COOKIE", "cookie_name": "sid"}}}),
    )
    .save("p_lc", "/pool/id");
    s.settle();
    s.post(
        "pool si tcp source ip",
        PO,
        json!({"pool": {"name": "p-si", "listener_id": "{l_tcp}", "protocol": "TCP", "lb_algorithm": "SOURCE_IP", "session_persistence": {"type": "SOURCE_IP"}}}),
    )
    .save("p_si", "/pool/id");
    s.settle();
    s.post(
        "pool sip on amphora",
        PO,
        json!({"pool": {"loadbalancer_id": "{lb}", "protocol": "TCP", "lb_algorithm": "SOURCE_IP_PORT"}}),
    )
    .save("p_sip", "/pool/id");
    // lb-api's amphora provider balances SOURCE_IP_PORT (allowed difference): undo it there.
    s.settle();
    s.delete("pool sip cleanup", &format!("{PO}/{{p_sip}}"))
        .lb_api_only();
    s.settle();
    s.post(
        "pool udp",
        PO,
        json!({"pool": {"name": "p-udp", "listener_id": "{l_udp}", "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}}),
    )
    .save("p_udp", "/pool/id");
    s.settle();
    s.post(
        "pool http on tcp listener",
        PO,
        json!({"pool": {"loadbalancer_id": "{lb}", "listener_id": "{l_tcp}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    s.post(
        "pool udp on http listener",
        PO,
        json!({"pool": {"listener_id": "{l_http}", "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    s.post(
        "pool listener already has default",
        PO,
        json!({"pool": {"listener_id": "{l_http}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    s.post(
        "pool no lb nor listener",
        PO,
        json!({"pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    s.post(
        "pool bad algorithm",
        PO,
        json!({"pool": {"loadbalancer_id": "{lb}", "protocol": "HTTP", "lb_algorithm": "RANDOM"}}),
    );
    s.post(
        "pool app cookie without name",
        PO,
        json!({"pool": {"loadbalancer_id": "{lb}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "APP_COOKIE"}}}),
    );
    s.post(
        "pool http cookie with name",
        PO,
        json!({"pool": {"loadbalancer_id": "{lb}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "HTTP_COOKIE", "cookie_name": "x"}}}),
    );
    s.put(
        "pool update",
        &format!("{PO}/{{p_lc}}"),
        json!({"pool": {"lb_algorithm": "ROUND_ROBIN", "session_persistence": null, "description": "upd"}}),
    );
    s.settle();
    s.get("pool show", &format!("{PO}/{{p_lc}}"));
    s.put(
        "pool update protocol",
        &format!("{PO}/{{p_lc}}"),
        json!({"pool": {"protocol": "TCP"}}),
    );
}
