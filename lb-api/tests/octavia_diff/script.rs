//! The request script both servers receive, in order. `{name}` in a path or a body string is
//! the id saved under `name` on that side (`.save(name, json-pointer)`; unset again when an
//! answer lacks it); `settle()` completes all
//! pending work on both sides (Octavia through its driver-updater, lb-api through its noop
//! provider).

use serde_json::{Value, json};

/// The project every request is made in (noauth `X-Project-Id`).
pub const PROJECT: &str = "e3cd678b11784734bc366148aa37580e";

pub enum Kind {
    Call {
        method: &'static str,
        path: String,
        body: Option<Value>,
        raw: Option<String>,
        project: Option<String>,
        /// `X-Roles` (noauth): Octavia's noauth makes everyone admin, lb-api's only with `admin`.
        roles: Option<String>,
        save: Vec<(String, String)>,
    },
    Settle,
}

pub struct Step {
    pub name: String,
    pub kind: Kind,
    /// Only lb-api gets it (its Neutron stub); saved ids are shared with the Octavia side.
    pub lb_api_only: bool,
    /// Run only when this variable is set on either side (clean-up after a create that may
    /// have been refused).
    pub only_if: Option<String>,
}

impl Step {
    fn save(&mut self, var: &str, pointer: &str) -> &mut Self {
        if let Kind::Call { save, .. } = &mut self.kind {
            save.push((var.to_owned(), pointer.to_owned()));
        }
        self
    }

    fn raw(&mut self, text: &str) -> &mut Self {
        if let Kind::Call { raw, .. } = &mut self.kind {
            *raw = Some(text.to_owned());
        }
        self
    }

    fn lb_api_only(&mut self) -> &mut Self {
        self.lb_api_only = true;
        self
    }

    fn admin(&mut self) -> &mut Self {
        if let Kind::Call { roles, .. } = &mut self.kind {
            *roles = Some("admin".to_owned());
        }
        self
    }

    fn only_if(&mut self, var: &str) -> &mut Self {
        self.only_if = Some(var.to_owned());
        self
    }
}

#[derive(Default)]
struct Script {
    steps: Vec<Step>,
}

impl Script {
    fn call(
        &mut self,
        name: &str,
        method: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> &mut Step {
        assert!(
            self.steps.iter().all(|s| s.name != name),
            "step names are unique: {name}"
        );
        self.steps.push(Step {
            name: name.to_owned(),
            kind: Kind::Call {
                method,
                path: path.to_owned(),
                body,
                raw: None,
                project: Some(PROJECT.to_owned()),
                roles: None,
                save: Vec::new(),
            },
            lb_api_only: false,
            only_if: None,
        });
        self.steps.last_mut().expect("just pushed")
    }

    fn get(&mut self, name: &str, path: &str) -> &mut Step {
        self.call(name, "GET", path, None)
    }

    fn post(&mut self, name: &str, path: &str, body: Value) -> &mut Step {
        self.call(name, "POST", path, Some(body))
    }

    fn put(&mut self, name: &str, path: &str, body: Value) -> &mut Step {
        self.call(name, "PUT", path, Some(body))
    }

    fn delete(&mut self, name: &str, path: &str) -> &mut Step {
        self.call(name, "DELETE", path, None)
    }

    fn settle(&mut self) {
        self.steps.push(Step {
            name: format!("settle#{}", self.steps.len()),
            kind: Kind::Settle,
            lb_api_only: false,
            only_if: None,
        });
    }
}

const LB: &str = "/v2.0/lbaas/loadbalancers";
const LI: &str = "/v2.0/lbaas/listeners";
const PO: &str = "/v2.0/lbaas/pools";
const HM: &str = "/v2.0/lbaas/healthmonitors";
const L7: &str = "/v2.0/lbaas/l7policies";
const MISSING: &str = "00000000-0000-4000-8000-000000000000";

#[expect(
    clippy::too_many_lines,
    reason = "the script reads top to bottom like the cookbook it follows"
)]
pub fn steps() -> Vec<Step> {
    let mut s = Script::default();

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

    // ---- members ----
    let members = format!("{PO}/{{p_rr}}/members");
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
    let rules = format!("{L7}/{{pol1}}/rules");
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

    // ---- lists: filters, sorting, pagination, fields ----
    s.get("listener list", LI);
    s.get("listener filter protocol", &format!("{LI}?protocol=HTTP"));
    s.get(
        "listener sort desc",
        &format!("{LI}?sort=protocol_port:desc"),
    );
    s.get(
        "listener sort_key",
        &format!("{LI}?sort_key=name&sort_dir=desc"),
    );
    s.get(
        "listener page 1",
        &format!("{LI}?limit=1&sort=protocol_port:asc"),
    )
    .save("page1", "/listeners/0/id");
    s.get(
        "listener page 2",
        &format!("{LI}?limit=1&sort=protocol_port:asc&marker={{page1}}"),
    );
    s.get("listener fields", &format!("{LI}?fields=id&fields=name"));
    s.get(
        "listener fields comma",
        &format!("{LI}?fields=name,protocol"),
    );
    s.get(
        "pool filter algorithm",
        &format!("{PO}?lb_algorithm=ROUND_ROBIN"),
    );
    s.get("pool list", PO);
    s.get("hm list", HM);
    s.get("lb filter bool", &format!("{LB}?admin_state_up=true"));
    s.get("lb list", LB);
    s.get("list unknown filter", &format!("{LB}?bogus=1"));
    s.get("list bad sort key", &format!("{LB}?sort=bogus:asc"));
    s.get("list bad sort dir", &format!("{LB}?sort=name:sideways"));
    s.get("list bad limit", &format!("{LB}?limit=abc"));
    s.get("list bad marker", &format!("{LB}?marker={MISSING}"));

    // ---- deletes ----
    s.delete("lb delete with children", &format!("{LB}/{{lb}}"));
    s.delete("l7rule delete", &format!("{rules}/{{rule2}}"));
    s.get("l7rule show pending delete", &format!("{rules}/{{rule2}}"));
    s.settle();
    s.get("l7rule show deleted", &format!("{rules}/{{rule2}}"));
    s.delete("l7policy delete", &format!("{L7}/{{pol2}}"));
    s.settle();
    s.delete("hm delete", &format!("{HM}/{{hm}}"));
    s.settle();
    s.get("hm show deleted", &format!("{HM}/{{hm}}"));
    s.delete("member delete", &format!("{members}/{{m2}}"));
    s.settle();
    s.delete("pool delete redirect target", &format!("{PO}/{{p_lc}}"));
    s.delete("pool delete default", &format!("{PO}/{{p_rr}}"));
    s.settle();
    s.get("listener after pool delete", &format!("{LI}/{{l_http}}"));
    s.delete("listener delete", &format!("{LI}/{{l_tcp}}"));
    s.get("listener show pending delete", &format!("{LI}/{{l_tcp}}"));
    s.settle();
    s.get("listener show deleted", &format!("{LI}/{{l_tcp}}"));
    s.delete("delete missing", &format!("{LI}/{MISSING}"));
    s.delete("lb delete cascade", &format!("{LB}/{{lb}}?cascade=true"));
    s.get("lb show pending delete", &format!("{LB}/{{lb}}"));
    s.settle();
    s.get("lb show deleted", &format!("{LB}/{{lb}}"));
    s.get("lb list at end", LB);

    pairings(&mut s);
    noop_provider(&mut s);

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
    s.steps
}

/// Every listener protocol the amphora provider takes against every pool protocol: which
/// pairings are refused, and how.
fn pairings(s: &mut Script) {
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
fn noop_provider(s: &mut Script) {
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
