//! Beyond the cookbook: every listener × pool protocol pairing, and a load balancer on the
//! `noop` provider, providers, quotas (as admin) and an unknown path.

use serde_json::json;

use super::{L7, LB, LI, PO, PROJECT, Script};

/// Every listener protocol the amphora provider takes against every pool protocol: which
/// pairings are refused, and how.
pub fn pairings(s: &mut Script) {
    s.post(
        "pairing lb",
        LB,
        json!({"loadbalancer": {"name": "pairs", "vip_subnet_id": "{subnet}"}}),
    )
    .save("lb2", "/loadbalancer/id");
    s.settle();
    let listeners = [
        ("HTTP", 1001),
        ("HTTPS", 1002),
        ("TCP", 1003),
        ("UDP", 1004),
        ("SCTP", 1005),
    ];
    for (proto, port) in listeners {
        s.post(
            &format!("pairing listener {proto}"),
            LI,
            json!({"listener": {"protocol": proto, "protocol_port": port, "loadbalancer_id": "{lb2}"}}),
        )
        .save(&format!("pl_{proto}"), "/listener/id");
        s.settle();
    }
    for (lproto, _) in listeners {
        for pproto in ["HTTP", "HTTPS", "TCP", "UDP", "SCTP", "PROXY", "PROXYV2"] {
            s.post(
                &format!("pairing pool {pproto} on {lproto} listener"),
                PO,
                json!({"pool": {"listener_id": format!("{{pl_{lproto}}}"), "protocol": pproto, "lb_algorithm": "ROUND_ROBIN"}}),
            )
            .save("pp", "/pool/id");
            s.settle();
            s.delete(
                &format!("pairing pool {pproto} on {lproto} listener delete"),
                &format!("{PO}/{{pp}}"),
            )
            .only_if("pp");
            s.settle();
        }
    }
    s.delete("pairing lb delete", &format!("{LB}/{{lb2}}?cascade=true"));
    s.settle();
}

/// A load balancer on the `noop` provider, which validates nothing beyond the API.
pub fn noop_provider(s: &mut Script) {
    s.post(
        "noop lb",
        LB,
        json!({"loadbalancer": {"name": "noop", "vip_subnet_id": "{subnet}", "provider": "noop"}}),
    )
    .save("lb3", "/loadbalancer/id");
    s.settle();
    s.post(
        "noop listener tcp",
        LI,
        json!({"listener": {"protocol": "TCP", "protocol_port": 80, "loadbalancer_id": "{lb3}"}}),
    )
    .save("nl", "/listener/id");
    s.settle();
    s.post(
        "noop pool sip",
        PO,
        json!({"pool": {"listener_id": "{nl}", "protocol": "TCP", "lb_algorithm": "SOURCE_IP_PORT"}}),
    );
    s.settle();
    s.post(
        "noop l7policy on tcp",
        L7,
        json!({"l7policy": {"listener_id": "{nl}", "action": "REJECT"}}),
    );
    s.settle();
    s.get("noop lb status", &format!("{LB}/{{lb3}}/status"));
    s.delete("noop lb delete", &format!("{LB}/{{lb3}}?cascade=true"));
    s.settle();
    s.get("noop lb list at end", LB);
}

/// Providers, quotas as admin (Octavia's noauth makes everyone admin, lb-api's only with
/// `X-Roles: admin`), and a path that does not exist.
pub fn admin_and_misc(s: &mut Script) {
    s.get("providers", "/v2.0/lbaas/providers");
    s.get("quota defaults", "/v2.0/lbaas/quotas/defaults")
        .admin();
    s.get("quota of project", &format!("/v2.0/lbaas/quotas/{PROJECT}"))
        .admin();
    s.put(
        "quota set",
        &format!("/v2.0/lbaas/quotas/{PROJECT}"),
        json!({"quota": {"load_balancer": 5, "listener": 10}}),
    )
    .admin();
    s.get("quota list", "/v2.0/lbaas/quotas").admin();
    s.put(
        "quota set bad value",
        &format!("/v2.0/lbaas/quotas/{PROJECT}"),
        json!({"quota": {"load_balancer": -5}}),
    )
    .admin();
    s.delete("quota reset", &format!("/v2.0/lbaas/quotas/{PROJECT}"))
        .admin();
    s.get(
        "quota after reset",
        &format!("/v2.0/lbaas/quotas/{PROJECT}"),
    )
    .admin();
    s.get("unknown path", "/v2.0/lbaas/bogus");
}
