//! The cookbook's children: members (single, weight 0, batch), health monitors, L7 policies
//! and rules, with their error cases.

use serde_json::json;

use super::{HM, L7, LB, LI, PO, Script, members_path, rules_path};

/// Members, health monitors, L7 policies and rules.
pub fn children(s: &mut Script) {
    let members = members_path();
    let rules = rules_path();
    // ---- members ----
    s.post(
        "member create",
        &members,
        json!({"member": {"address": "198.18.10.11", "protocol_port": 80, "subnet_id": "{subnet}"}}),
    )
    .save("m1", "/member/id");
    s.settle();
    s.post(
        "member create named",
        &members,
        json!({"member": {"name": "m2", "address": "198.18.10.12", "protocol_port": 8080, "weight": 5, "backup": true, "monitor_port": 8081}}),
    )
    .save("m2", "/member/id");
    s.settle();
    s.post(
        "member duplicate",
        &members,
        json!({"member": {"address": "198.18.10.11", "protocol_port": 80}}),
    );
    s.post(
        "member weight too big",
        &members,
        json!({"member": {"address": "198.18.10.13", "protocol_port": 80, "weight": 300}}),
    );
    s.post(
        "member bad address",
        &members,
        json!({"member": {"address": "not-an-ip", "protocol_port": 80}}),
    );
    s.put(
        "member weight 0",
        &format!("{members}/{{m1}}"),
        json!({"member": {"weight": 0}}),
    );
    s.settle();
    s.get("member show", &format!("{members}/{{m1}}"));
    s.put(
        "member update address",
        &format!("{members}/{{m1}}"),
        json!({"member": {"address": "198.18.10.99"}}),
    );
    s.get(
        "member in wrong pool",
        &format!("{PO}/{{p_lc}}/members/{{m1}}"),
    );
    s.get("member list", &members);
    s.put(
        "member batch",
        &members,
        json!({"members": [
            {"address": "198.18.10.11", "protocol_port": 80, "weight": 3},
            {"address": "198.18.10.20", "protocol_port": 80, "name": "new"}
        ]}),
    );
    s.get("member list during batch", &members);
    s.settle();
    s.get(
        "member list after batch",
        &format!("{members}?sort=address:asc"),
    );
    s.put(
        "member batch additive",
        &format!("{members}?additive_only=true"),
        json!({"members": [{"address": "198.18.10.21", "protocol_port": 80}]}),
    );
    s.settle();
    s.get(
        "member list after additive",
        &format!("{members}?sort=address:asc"),
    );

    // ---- health monitors ----
    s.post(
        "hm http defaults",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_rr}", "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}}),
    )
    .save("hm", "/healthmonitor/id");
    s.settle();
    s.get("hm show", &format!("{HM}/{{hm}}"));
    s.get("pool show with hm", &format!("{PO}/{{p_rr}}"));
    s.post(
        "hm second on pool",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_rr}", "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}}),
    );
    s.post(
        "hm timeout over delay",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_lc}", "type": "TCP", "delay": 3, "timeout": 5, "max_retries": 3}}),
    );
    s.settle();
    s.post(
        "hm http fields on tcp",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_si}", "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3, "url_path": "/x"}}),
    );
    s.post(
        "hm tcp",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_si}", "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2, "max_retries_down": 5, "name": "tcp-hm"}}),
    )
    .save("hm_tcp", "/healthmonitor/id");
    s.settle();
    s.post(
        "hm udp-connect",
        HM,
        json!({"healthmonitor": {"pool_id": "{p_udp}", "type": "UDP-CONNECT", "delay": 5, "timeout": 3, "max_retries": 3}}),
    );
    s.settle();
    s.put(
        "hm update",
        &format!("{HM}/{{hm}}"),
        json!({"healthmonitor": {"delay": 10, "url_path": "/health", "expected_codes": "200-204", "http_method": "HEAD"}}),
    );
    s.settle();
    s.put(
        "hm update type",
        &format!("{HM}/{{hm}}"),
        json!({"healthmonitor": {"type": "TCP"}}),
    );

    // ---- L7 ----
    s.post(
        "l7policy redirect to pool",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "REDIRECT_TO_POOL", "redirect_pool_id": "{p_lc}", "name": "to-lc"}}),
    )
    .save("pol1", "/l7policy/id");
    s.settle();
    s.post(
        "l7policy reject first",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "REJECT", "position": 1}}),
    )
    .save("pol2", "/l7policy/id");
    s.settle();
    s.post(
        "l7policy redirect to url",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "REDIRECT_TO_URL", "redirect_url": "http://example.com/"}}),
    )
    .save("pol3", "/l7policy/id");
    s.settle();
    s.get("l7policy list", &format!("{L7}?sort=position:asc"));
    s.post(
        "l7policy url missing",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "REDIRECT_TO_URL"}}),
    );
    s.post(
        "l7policy on tcp listener",
        L7,
        json!({"l7policy": {"listener_id": "{l_tcp}", "action": "REJECT"}}),
    );
    s.get("lb show after provider rejection", &format!("{LB}/{{lb}}"));
    s.post(
        "l7policy redirect to tcp pool",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "REDIRECT_TO_POOL", "redirect_pool_id": "{p_si}"}}),
    );
    s.post(
        "l7policy bad action",
        L7,
        json!({"l7policy": {"listener_id": "{l_http}", "action": "DROP"}}),
    );
    s.post(
        "l7rule path",
        &rules,
        json!({"rule": {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}}),
    )
    .save("rule1", "/rule/id");
    s.settle();
    s.post(
        "l7rule header without key",
        &rules,
        json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}}),
    );
    s.post(
        "l7rule header",
        &rules,
        json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "key": "X-Env", "value": "prod", "invert": true}}),
    )
    .save("rule2", "/rule/id");
    s.settle();
    s.post(
        "l7rule bad compare",
        &rules,
        json!({"rule": {"type": "PATH", "compare_type": "LIKE", "value": "/x"}}),
    );
    s.put(
        "l7rule update",
        &format!("{rules}/{{rule1}}"),
        json!({"rule": {"value": "/v2", "compare_type": "REGEX"}}),
    );
    s.settle();
    s.get("l7rule list", &rules);
    s.get("l7rule show", &format!("{rules}/{{rule1}}"));
    s.get("l7policy show", &format!("{L7}/{{pol1}}"));
    s.put(
        "l7policy update",
        &format!("{L7}/{{pol1}}"),
        json!({"l7policy": {"position": 3, "name": "moved"}}),
    );
    s.settle();
    s.get(
        "l7policy list after move",
        &format!("{L7}?sort=position:asc"),
    );
    // A pool an enabled L7 policy with rules redirects to counts as used by that listener.
    s.get("pool show redirect target", &format!("{PO}/{{p_lc}}"));
    s.post(
        "member on redirect pool",
        &format!("{PO}/{{p_lc}}/members"),
        json!({"member": {"address": "198.18.10.30", "protocol_port": 80}}),
    );
    s.get(
        "listener show after member on redirect pool",
        &format!("{LI}/{{l_http}}"),
    );
    s.settle();
    s.get("listener show with l7", &format!("{LI}/{{l_http}}"));
    s.get("lb status tree", &format!("{LB}/{{lb}}/status"));
}
