//! How a listener's policies are evaluated: rules ANDed, disabled ones skipped, HAProxy's
//! group order (deny, redirect, use_backend), position within a group, redirects.

use super::*;

#[test]
fn rules_of_a_policy_are_anded_and_disabled_rules_ignored() {
    let host = rule(T::HostName, C::EqualTo, None, "a.org", false);
    let path = rule(T::Path, C::StartsWith, None, "/api", false);
    let both = Policies::compile(
        &[policy("p", 1, A::Reject, vec![host.clone(), path.clone()])],
        all_pools,
    );
    assert_eq!(
        both.decide(&req("/api/x", &[("host", "a.org")])),
        Decision::Reject
    );
    assert_eq!(
        both.decide(&req("/web", &[("host", "a.org")])),
        Decision::Default
    );
    assert_eq!(
        both.decide(&req("/api/x", &[("host", "b.org")])),
        Decision::Default
    );

    let mut off = path.clone();
    off.admin_state_up = false;
    let one = Policies::compile(&[policy("p", 1, A::Reject, vec![host, off])], all_pools);
    assert_eq!(
        one.decide(&req("/web", &[("host", "a.org")])),
        Decision::Reject
    );
}

#[test]
fn disabled_policies_and_policies_without_enabled_rules_are_skipped() {
    let always = || rule(T::Path, C::StartsWith, None, "/", false);
    let mut disabled = policy("off", 1, A::Reject, vec![always()]);
    disabled.admin_state_up = false;
    let empty = policy("empty", 2, A::Reject, vec![]);
    let mut rule_off = always();
    rule_off.admin_state_up = false;
    let only_disabled_rules = policy("rules-off", 3, A::Reject, vec![rule_off]);
    let pool = policy("pool", 4, A::RedirectToPool, vec![always()]);

    let none = Policies::compile(
        &[disabled.clone(), empty.clone(), only_disabled_rules.clone()],
        all_pools,
    );
    assert!(none.is_empty());
    assert_eq!(none.decide(&req("/x", &[])), Decision::Default);

    let some = Policies::compile(&[disabled, empty, only_disabled_rules, pool], all_pools);
    assert!(!some.is_empty());
    assert_eq!(some.decide(&req("/x", &[])), Decision::Pool("pool-pool"));
}

#[test]
fn groups_run_deny_then_redirect_then_use_backend() {
    let always = || rule(T::Path, C::StartsWith, None, "/", false);
    let policies = Policies::compile(
        &[
            policy("pool", 1, A::RedirectToPool, vec![always()]),
            policy("url", 2, A::RedirectToUrl, vec![always()]),
            policy(
                "reject",
                3,
                A::Reject,
                vec![rule(T::Path, C::StartsWith, None, "/deny", false)],
            ),
        ],
        all_pools,
    );
    assert_eq!(policies.decide(&req("/deny/x", &[])), Decision::Reject);
    assert_eq!(
        policies.decide(&req("/x", &[])),
        Decision::Redirect {
            code: 302,
            location: "https://example.org/x".to_owned()
        }
    );
    let pools = Policies::compile(
        &[
            policy("pool", 1, A::RedirectToPool, vec![always()]),
            policy("reject", 3, A::Reject, vec![always()]),
        ],
        all_pools,
    );
    assert_eq!(pools.decide(&req("/x", &[])), Decision::Reject);
}

#[test]
fn position_orders_policies_within_a_group() {
    let always = || rule(T::Path, C::StartsWith, None, "/", false);
    // Pushed out of order: position decides, not the list order.
    let policies = Policies::compile(
        &[
            policy("second", 2, A::RedirectToPool, vec![always()]),
            policy("first", 1, A::RedirectToPool, vec![always()]),
            policy("third", 3, A::RedirectToPool, vec![always()]),
        ],
        all_pools,
    );
    assert_eq!(
        policies.decide(&req("/", &[])),
        Decision::Pool("pool-first")
    );
    // A non-matching first policy lets the next one decide.
    let policies = Policies::compile(
        &[
            policy(
                "first",
                1,
                A::RedirectToPool,
                vec![rule(T::Path, C::EqualTo, None, "/a", false)],
            ),
            policy("second", 2, A::RedirectToPool, vec![always()]),
        ],
        all_pools,
    );
    assert_eq!(
        policies.decide(&req("/a", &[])),
        Decision::Pool("pool-first")
    );
    assert_eq!(
        policies.decide(&req("/b", &[])),
        Decision::Pool("pool-second")
    );
}

#[test]
fn disabled_redirect_pool_is_skipped() {
    let always = || rule(T::Path, C::StartsWith, None, "/", false);
    let policies = Policies::compile(
        &[
            policy("down", 1, A::RedirectToPool, vec![always()]),
            policy("up", 2, A::RedirectToPool, vec![always()]),
        ],
        |id| id == "pool-up",
    );
    assert_eq!(policies.decide(&req("/", &[])), Decision::Pool("pool-up"));
    let none = Policies::compile(
        &[policy("down", 1, A::RedirectToPool, vec![always()])],
        |_| false,
    );
    assert!(none.is_empty());
}

#[test]
fn redirect_codes_and_locations() {
    let always = || rule(T::Path, C::StartsWith, None, "/", false);
    let redirect = |action, target: &str, code| {
        let mut p = policy("p", 1, action, vec![always()]);
        p.redirect_url = (action == A::RedirectToUrl).then(|| target.to_owned());
        p.redirect_prefix = (action == A::RedirectPrefix).then(|| target.to_owned());
        p.redirect_http_code = code;
        Policies::compile(&[p], all_pools)
    };
    let request = req("/a/b?x=1&y=2", &[("host", "lb")]);
    let expect = |code: u16, location: &str| Decision::Redirect {
        code,
        location: location.to_owned(),
    };
    // Location as is: the request's path and query are not appended.
    assert_eq!(
        redirect(A::RedirectToUrl, "https://x.org/new", None).decide(&request),
        expect(302, "https://x.org/new")
    );
    assert_eq!(
        redirect(A::RedirectToUrl, "https://x.org/new", Some(301)).decide(&request),
        expect(301, "https://x.org/new")
    );
    // Prefix + path and query, verbatim.
    assert_eq!(
        redirect(A::RedirectPrefix, "https://x.org", Some(308)).decide(&request),
        expect(308, "https://x.org/a/b?x=1&y=2")
    );
    assert_eq!(
        redirect(A::RedirectPrefix, "https://x.org/", None).decide(&request),
        expect(302, "https://x.org//a/b?x=1&y=2")
    );
    // A prefix of exactly "/" adds nothing.
    assert_eq!(
        redirect(A::RedirectPrefix, "/", Some(307)).decide(&request),
        expect(307, "/a/b?x=1&y=2")
    );
    // HTTP/2 and absolute-form requests: the path on, without scheme and authority.
    let abs = req("http://lb.example/p?q", &[]);
    assert_eq!(
        redirect(A::RedirectPrefix, "https://x.org", Some(303)).decide(&abs),
        expect(303, "https://x.org/p?q")
    );
    // An unsupported code falls back to 302.
    assert_eq!(
        redirect(A::RedirectToUrl, "https://x.org/", Some(200)).decide(&request),
        expect(302, "https://x.org/")
    );
}
