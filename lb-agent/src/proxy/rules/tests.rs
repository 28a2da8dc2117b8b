//! Tests of the L7 policy matcher: every rule type × compare type × invert, the request
//! samples as HAProxy reads them; policy order is in `policies`.

use http::{Request, Version};
use lb_proto::{CompareType as C, L7Action as A, L7RuleType as T};

use super::*;

mod policies;

fn rule(kind: T, compare_type: C, key: Option<&str>, value: &str, invert: bool) -> L7Rule {
    L7Rule {
        id: format!("r-{kind:?}-{compare_type:?}-{invert}"),
        kind,
        compare_type,
        key: key.map(str::to_owned),
        value: value.to_owned(),
        invert,
        admin_state_up: true,
    }
}

fn policy(id: &str, position: u32, action: A, rules: Vec<L7Rule>) -> L7Policy {
    L7Policy {
        id: id.to_owned(),
        position,
        action,
        admin_state_up: true,
        redirect_pool_id: (action == A::RedirectToPool).then(|| format!("pool-{id}")),
        redirect_url: (action == A::RedirectToUrl).then(|| "https://example.org/x".to_owned()),
        redirect_prefix: (action == A::RedirectPrefix).then(|| "https://example.org".to_owned()),
        redirect_http_code: None,
        rules,
    }
}

fn all_pools(_: &str) -> bool {
    true
}

/// A request: `uri`, then `(name, value)` header fields in order.
fn req(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut b = Request::builder().uri(uri);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(()).expect("test request builds").into_parts().0
}

fn h2(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut p = req(uri, headers);
    p.version = Version::HTTP_2;
    p
}

/// Whether a single REJECT policy with `r` rejects `p`.
fn holds(r: L7Rule, p: &Parts) -> bool {
    let policies = Policies::compile(&[policy("p", 1, A::Reject, vec![r])], all_pools);
    assert!(!policies.is_empty());
    match policies.decide(p) {
        Decision::Reject => true,
        Decision::Default => false,
        other => panic!("unexpected {other:?}"),
    }
}

struct Row {
    kind: T,
    compare: C,
    key: Option<&'static str>,
    value: &'static str,
    /// A request the rule matches and one it does not (`None` for the `SSL_*` types: no
    /// request on a clear connection matches them).
    hit: Option<Parts>,
    miss: Parts,
}

/// One row per request rule type × compare type, then the `SSL_*` types.
    #[rustfmt::skip]
    fn table() -> Vec<Row> {
        let row = |kind, compare, key, value, hit: Option<Parts>, miss| Row { kind, compare, key, value, hit, miss };
        let host = |h: &str| Some(req("/", &[("host", h)]));
        let at = |path: &str| Some(req(path, &[("host", "a")]));
        let hdr = |v: &str| Some(req("/", &[("x-env", v)]));
        let cookie = |v: &str| Some(req("/", &[("cookie", v)]));
        let miss = |p: Option<Parts>| p.expect("a request");
        let plain = || req("/", &[("host", "a")]);
        let mut rows = vec![
            row(T::HostName, C::Regex, None, r"^www\.[a-z]+\.org$", host("www.example.org"), miss(host("api.example.org"))),
            row(T::HostName, C::StartsWith, None, "www.", host("www.example.org"), miss(host("api.example.org"))),
            row(T::HostName, C::EndsWith, None, ".org", host("www.example.org"), miss(host("www.example.com"))),
            row(T::HostName, C::Contains, None, "example", host("www.example.org"), miss(host("www.other.org"))),
            row(T::HostName, C::EqualTo, None, "example.org", host("example.org"), miss(host("www.example.org"))),
            row(T::Path, C::Regex, None, r"^/api/v[0-9]+/", at("/api/v2/x"), miss(at("/api/vx/x"))),
            row(T::Path, C::StartsWith, None, "/api", at("/api/x"), miss(at("/x/api"))),
            row(T::Path, C::EndsWith, None, "/list", at("/a/list"), miss(at("/a/list/"))),
            row(T::Path, C::Contains, None, "/v2/", at("/api/v2/x"), miss(at("/api/v3/x"))),
            // The path excludes the query string.
            row(T::Path, C::EqualTo, None, "/a/b", at("/a/b?c=d"), miss(at("/a/b/"))),
            // FILE_TYPE is `path` with the rule's match method (see `Test::compile`).
            row(T::FileType, C::Regex, None, r"\.(jpg|png)$", at("/i/a.png"), miss(at("/i/a.gif"))),
            row(T::FileType, C::StartsWith, None, "/img", at("/img/a.png"), miss(at("/a/img.png"))),
            row(T::FileType, C::EndsWith, None, ".png", at("/a.png"), miss(at("/a.png/x"))),
            row(T::FileType, C::Contains, None, "img", at("/a/img/b"), miss(at("/a/b"))),
            row(T::FileType, C::EqualTo, None, "/a.png", at("/a.png"), miss(at("/x/a.png"))),
            row(T::Header, C::Regex, Some("X-Env"), "^prod-[0-9]+$", hdr("prod-12"), miss(hdr("prod-x"))),
            // Header values compare case-sensitively.
            row(T::Header, C::StartsWith, Some("X-Env"), "prod", hdr("production"), miss(hdr("Production"))),
            row(T::Header, C::EndsWith, Some("X-Env"), "eu", hdr("prod-eu"), miss(hdr("prod-us"))),
            row(T::Header, C::Contains, Some("X-Env"), "canary", hdr("a-canary-b"), miss(hdr("a-b"))),
            row(T::Header, C::EqualTo, Some("X-Env"), "prod", hdr("prod"), miss(hdr("PROD"))),
            row(T::Cookie, C::Regex, Some("sess"), "^[0-9a-f]{4}$", cookie("sess=beef"), miss(cookie("sess=beefy"))),
            row(T::Cookie, C::StartsWith, Some("sess"), "be", cookie("sess=beef"), miss(cookie("sess=abee"))),
            row(T::Cookie, C::EndsWith, Some("sess"), "ef", cookie("sess=beef"), miss(cookie("sess=efab"))),
            row(T::Cookie, C::Contains, Some("sess"), "ee", cookie("sess=beef"), miss(cookie("sess=bef"))),
            // The value of the named cookie, not of another one.
            row(T::Cookie, C::EqualTo, Some("sess"), "beef", cookie("sess=beef"), miss(cookie("other=beef"))),
        ];
        for compare in [C::Regex, C::StartsWith, C::EndsWith, C::Contains, C::EqualTo] {
            rows.push(row(T::SslConnHasCert, compare, None, "True", None, plain()));
            rows.push(row(T::SslVerifyResult, compare, None, "0", None, plain()));
            rows.push(row(T::SslDnField, compare, Some("CN"), "client", None, plain()));
        }
        rows
    }

#[test]
fn every_rule_type_compare_type_and_invert() {
    let rows = table();
    // 5 request rule types × 5 compare types, plus 3 SSL types × 5.
    assert_eq!(rows.len(), 40);
    let mut checked = 0;
    for row in rows {
        for invert in [false, true] {
            let r = || rule(row.kind, row.compare, row.key, row.value, invert);
            let name = format!(
                "{:?} {:?} {:?} invert={invert}",
                row.kind, row.compare, row.value
            );
            if let Some(hit) = &row.hit {
                assert_eq!(holds(r(), hit), !invert, "{name}: matching request");
                checked += 1;
            }
            assert_eq!(holds(r(), &row.miss), invert, "{name}: other request");
            checked += 1;
        }
    }
    assert_eq!(checked, 25 * 4 + 15 * 2);
}

#[test]
fn ssl_rules_use_the_client_certificate_when_there_is_one() {
    let dn: Vec<(String, String)> = [("CN", "client"), ("O", "acme"), ("CN", "second")]
        .iter()
        .map(|&(f, v)| (f.to_owned(), v.to_owned()))
        .collect();
    let tls = ClientTls {
        has_cert: true,
        verify_result: Some(0),
        subject_dn: &dn,
    };
    let p = req("/", &[]);
    let rejects = |r: L7Rule, tls: &ClientTls<'_>| {
        let policies = Policies::compile(&[policy("p", 1, A::Reject, vec![r])], all_pools);
        match policies.decide_with(&p, tls) {
            Decision::Reject => true,
            Decision::Default => false,
            other => panic!("unexpected {other:?}"),
        }
    };
    let has_cert = rule(T::SslConnHasCert, C::EqualTo, None, "True", false);
    assert!(rejects(has_cert.clone(), &tls));
    assert!(!rejects(has_cert, &ClientTls::NONE));
    // `ssl_c_verify eq 0`, whatever the compare type.
    assert!(rejects(
        rule(T::SslVerifyResult, C::Contains, None, "0", false),
        &tls
    ));
    assert!(!rejects(
        rule(T::SslVerifyResult, C::EqualTo, None, "10", false),
        &tls
    ));
    // The first CN from the start of the DN; field names compare case-insensitively.
    assert!(rejects(
        rule(T::SslDnField, C::EqualTo, Some("cn"), "client", false),
        &tls
    ));
    assert!(!rejects(
        rule(T::SslDnField, C::EqualTo, Some("CN"), "second", false),
        &tls
    ));
    assert!(rejects(
        rule(T::SslDnField, C::EqualTo, Some("OU"), "x", true),
        &tls
    ));
}

#[test]
fn host_name_is_case_insensitive_for_every_compare_type() {
    let p = req("/", &[("host", "WWW.Example.ORG")]);
    for (compare, value) in [
        (C::EqualTo, "www.example.org"),
        (C::StartsWith, "www.EXAMPLE"),
        (C::EndsWith, ".org"),
        (C::Contains, "exAMple"),
        (C::Regex, "^www\\.example\\.org$"),
    ] {
        assert!(
            holds(rule(T::HostName, compare, None, value, false), &p),
            "{compare:?}"
        );
    }
    // The port is part of the Host value.
    let with_port = req("/", &[("host", "example.org:8080")]);
    assert!(!holds(
        rule(T::HostName, C::EqualTo, None, "example.org", false),
        &with_port
    ));
    assert!(holds(
        rule(T::HostName, C::EqualTo, None, "example.org:8080", false),
        &with_port
    ));
}

#[test]
fn header_occurrences_and_comma_separated_values_all_count() {
    let r = || rule(T::Header, C::EqualTo, Some("x-tag"), "blue", false);
    // Second occurrence.
    assert!(holds(
        r(),
        &req("/", &[("x-tag", "red"), ("X-Tag", "blue")])
    ));
    // Second element of a list, blanks trimmed.
    assert!(holds(r(), &req("/", &[("x-tag", "red ,\tblue ")])));
    // A comma inside a quoted string does not split.
    assert!(!holds(r(), &req("/", &[("x-tag", "\"red,blue\"")])));
    // To match the quotes themselves, a value needs single quotes around them (HAProxy
    // removes a value's double quotes; Octavia doubles its backslashes).
    assert!(holds(
        rule(
            T::Header,
            C::EqualTo,
            Some("x-tag"),
            "'\"red,blue\"'",
            false
        ),
        &req("/", &[("x-tag", "\"red,blue\", green")])
    ));
    assert!(!holds(
        rule(T::Header, C::EqualTo, Some("x-tag"), "\"red,blue\"", false),
        &req("/", &[("x-tag", "\"red,blue\", green")])
    ));
    // Inverted: no element may match.
    let inv = || rule(T::Header, C::EqualTo, Some("x-tag"), "blue", true);
    assert!(!holds(
        inv(),
        &req("/", &[("x-tag", "red"), ("x-tag", "blue")])
    ));
    assert!(holds(
        inv(),
        &req("/", &[("x-tag", "red"), ("x-tag", "green")])
    ));
}

#[test]
fn quoted_header_values_arrive_unquoted_as_in_haproxy() {
    // Octavia accepts `"..."` header values; HAProxy's config parser removes the quotes.
    let p = req("/", &[("x-agent", "my agent")]);
    assert!(holds(
        rule(
            T::Header,
            C::EqualTo,
            Some("x-agent"),
            "\"my agent\"",
            false
        ),
        &p
    ));
    // Spaces are escaped by Octavia, so an unquoted value keeps them too.
    // `path` is raw: no percent-decoding.
    assert!(!holds(
        rule(T::Path, C::EqualTo, None, "/a b", false),
        &req("/a%20b", &[])
    ));
    assert!(holds(
        rule(T::Header, C::Contains, Some("x-agent"), "y a", false),
        &p
    ));
    // An unquoted `#` starts a comment: the pattern ends before it.
    assert!(holds(
        rule(T::Header, C::EqualTo, Some("x-a"), "ab#cd", false),
        &req("/", &[("x-a", "ab")])
    ));
    assert!(!holds(
        rule(T::Header, C::EqualTo, Some("x-a"), "ab#cd", false),
        &req("/", &[("x-a", "ab#cd")])
    ));
}

#[test]
fn haproxy_lexer() {
    let words = |s: &str| {
        haproxy_words(s).map(|w| {
            w.into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(words(r"a\ b c"), Ok(vec!["a b".to_owned(), "c".to_owned()]));
    assert_eq!(
        words(r#""x\ y" 'p\q' \\ \x41#z"#),
        Ok(vec![
            "x y".to_owned(),
            r"p\q".to_owned(),
            r"\".to_owned(),
            "A".to_owned()
        ])
    );
    assert_eq!(words(r#""""#), Ok(vec![String::new()]));
    assert_eq!(words("#x"), Ok(vec![]));
    assert_eq!(words("\"open"), Err(LexError::Quote));
    assert_eq!(words(r"\xZ1"), Err(LexError::Hex));
    assert_eq!(words(r"\q"), Ok(vec![r"\q".to_owned()]));
}

#[test]
fn cookies() {
    let r = |invert| rule(T::Cookie, C::EqualTo, Some("sess"), "42", invert);
    // Among several, in one header or several, with blanks and `,` as separators.
    assert!(holds(
        r(false),
        &req("/", &[("cookie", "a=1; sess=42; b=2")])
    ));
    assert!(holds(
        r(false),
        &req("/", &[("cookie", "a=1"), ("cookie", "b=2;sess = 42 ")])
    ));
    assert!(holds(r(false), &req("/", &[("cookie", "a=1, sess=42")])));
    // A second cookie of the same name counts too.
    assert!(holds(r(false), &req("/", &[("cookie", "sess=1; sess=42")])));
    // Names compare exactly; a name is not a value; `$` attributes are skipped.
    assert!(!holds(
        r(false),
        &req("/", &[("cookie", "SESS=42; xsess=42; a=sess")])
    ));
    assert!(!holds(r(false), &req("/", &[("cookie", "$sess=42")])));
    // Quotes stay in the value.
    assert!(!holds(r(false), &req("/", &[("cookie", "sess=\"42\"")])));
    // Missing cookie, or no Cookie header: no match, so the inverted rule holds.
    for p in [req("/", &[("cookie", "a=42")]), req("/", &[])] {
        assert!(!holds(r(false), &p));
        assert!(holds(r(true), &p));
    }
    // HAProxy does not see an empty value when a pair starts fewer than `name=` + 2 bytes
    // before the end.
    let empty = |invert| rule(T::Cookie, C::Regex, Some("sess"), "^$", invert);
    assert!(!holds(empty(false), &req("/", &[("cookie", "a=1;sess=")])));
    assert!(!holds(empty(false), &req("/", &[("cookie", "sess=")])));
    assert!(holds(empty(false), &req("/", &[("cookie", "a=1; sess=")])));
    assert!(holds(empty(false), &req("/", &[("cookie", "sess=; a=1")])));
}

#[test]
fn missing_header_with_and_without_invert() {
    let p = req("/", &[("x-other", "v")]);
    assert!(!holds(
        rule(T::Header, C::Contains, Some("x-env"), "v", false),
        &p
    ));
    assert!(holds(
        rule(T::Header, C::Contains, Some("x-env"), "v", true),
        &p
    ));
    // Header names compare case-insensitively.
    assert!(holds(
        rule(T::Header, C::EqualTo, Some("X-OTHER"), "v", false),
        &p
    ));
}

#[test]
fn bad_regex_never_matches_and_does_not_panic() {
    let p = req("/x(", &[("host", "a"), ("x-h", "(")]);
    for (kind, key) in [
        (T::Path, None),
        (T::HostName, None),
        (T::Header, Some("x-h")),
    ] {
        // Unbalanced, a backreference and a lookahead: invalid for this crate.
        for value in ["(", r"(a)\1", "(?=x)"] {
            assert!(
                !holds(rule(kind, C::Regex, key, value, false), &p),
                "{kind:?} {value}"
            );
            assert!(
                holds(rule(kind, C::Regex, key, value, true), &p),
                "{kind:?} {value} inverted"
            );
        }
    }
    // Too large once compiled.
    assert!(!holds(
        rule(T::Path, C::Regex, None, "(((a{1000}){1000}){1000})", false),
        &p
    ));
    // A second, valid policy still applies.
    let policies = Policies::compile(
        &[
            policy(
                "bad",
                1,
                A::Reject,
                vec![rule(T::Path, C::Regex, None, "[", false)],
            ),
            policy(
                "good",
                2,
                A::RedirectToPool,
                vec![rule(T::Path, C::Regex, None, "^/x", false)],
            ),
        ],
        all_pools,
    );
    assert_eq!(policies.decide(&p), Decision::Pool("pool-good"));
}

#[test]
fn invalid_keys_never_match() {
    let p = req("/", &[("x", "v")]);
    assert!(!holds(
        rule(T::Header, C::EqualTo, Some("bad name"), "v", false),
        &p
    ));
    assert!(!holds(rule(T::Header, C::EqualTo, None, "v", false), &p));
    assert!(holds(rule(T::Header, C::EqualTo, None, "v", true), &p));
    assert!(!holds(rule(T::Cookie, C::EqualTo, None, "v", false), &p));
    // A value HAProxy would read as a flag.
    assert!(!holds(
        rule(T::Header, C::EqualTo, Some("x"), "-v", false),
        &req("/", &[("x", "-v")])
    ));
}

#[test]
fn file_type_equal_to_compares_the_whole_path_as_haproxy_does() {
    // `path_end -m str jpg`: the explicit `-m str` replaces `path_end`'s suffix match.
    let r = |value| rule(T::FileType, C::EqualTo, None, value, false);
    assert!(!holds(r("jpg"), &req("/img/a.jpg", &[])));
    assert!(!holds(r(".jpg"), &req("/img/a.jpg", &[])));
    assert!(holds(r("/img/a.jpg"), &req("/img/a.jpg?v=1", &[])));
}

#[test]
fn http2_request_with_only_authority() {
    let p = h2("https://Api.Example.org:8443/v1/x?y", &[]);
    assert!(p.headers.get(header::HOST).is_none());
    assert!(holds(
        rule(T::HostName, C::EqualTo, None, "api.example.org:8443", false),
        &p
    ));
    assert!(holds(
        rule(T::HostName, C::StartsWith, None, "api.", false),
        &p
    ));
    assert!(!holds(
        rule(T::HostName, C::EqualTo, None, "other.org", false),
        &p
    ));
    assert!(holds(rule(T::Path, C::EqualTo, None, "/v1/x", false), &p));
    // `:authority` wins over a Host field on HTTP/2, as HAProxy's H2 decoder does.
    let both = h2("https://a.org/", &[("host", "b.org")]);
    assert!(holds(
        rule(T::HostName, C::EqualTo, None, "a.org", false),
        &both
    ));
    assert!(!holds(
        rule(T::HostName, C::EqualTo, None, "b.org", false),
        &both
    ));
    // Without `:authority`, the Host field.
    assert!(holds(
        rule(T::HostName, C::EqualTo, None, "b.org", false),
        &h2("/", &[("host", "b.org")])
    ));
}

#[test]
fn http1_host_field_or_absolute_form_authority() {
    let r = |value| rule(T::HostName, C::EqualTo, None, value, false);
    // Absolute form without Host: the authority (userinfo excluded).
    assert!(holds(r("a.org"), &req("http://user@a.org/x", &[])));
    // With a Host field, the field.
    assert!(holds(
        r("b.org"),
        &req("http://a.org/x", &[("host", "b.org")])
    ));
    // Origin form without Host: nothing to match.
    assert!(!holds(r("a.org"), &req("/x", &[])));
    assert!(holds(
        rule(T::HostName, C::EqualTo, None, "a.org", true),
        &req("/x", &[])
    ));
}

#[test]
fn asterisk_has_no_path() {
    let p = req("*", &[]);
    assert!(!holds(rule(T::Path, C::Contains, None, "*", false), &p));
    assert!(holds(rule(T::Path, C::Contains, None, "*", true), &p));
}

#[test]
fn non_utf8_header_values_are_matched_as_bytes() {
    let mut p = req("/", &[]);
    p.headers.insert(
        "x-b",
        http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value"),
    );
    assert!(holds(
        rule(T::Header, C::StartsWith, Some("x-b"), "caf", false),
        &p
    ));
    assert!(holds(
        rule(T::Header, C::Regex, Some("x-b"), "^caf.$", false),
        &p
    ));
}
