//! Lists (filters, sorting, pagination, `fields`) and the deletes that end the cookbook.

use super::{HM, L7, LB, LI, MISSING, PO, Script, members_path, rules_path};

/// Lists, then every delete down to the cascade.
pub fn lists_and_deletes(s: &mut Script) {
    let members = members_path();
    let rules = rules_path();
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
}
