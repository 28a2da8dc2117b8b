//! The request samples L7 rules test, read as HAProxy reads them: the host, the path, the
//! elements of a header field's value, and cookies.

use http::{Version, header, request::Parts};

use super::Matcher;

/// `req.hdr(host)`, iterated: on HTTP/2 and HTTP/3 the `:authority` (the URI's authority)
/// when present, else the first `Host` field: HAProxy's H2 decoder emits `:authority` as the
/// `host` header and drops any `Host` field after it, and keeps only the first `Host` when
/// there is no `:authority` (`h2_make_htx_request`, src/h2.c). On HTTP/1 every `Host` field
/// (HAProxy answers 400 to differing duplicates and to an absolute-form URI whose authority
/// does not match `Host`, src/h1.c), or the absolute-form URI's authority when there is no
/// `Host` field (where HAProxy's `req.hdr(host)` would find nothing). Userinfo is not part
/// of the host (`http_parse_authority(.., 1)`).
pub(super) fn host_matches(req: &Parts, m: &Matcher) -> bool {
    let authority = req.uri.authority().map(|a| {
        a.as_str()
            .rsplit_once('@')
            .map_or(a.as_str(), |(_, host)| host)
    });
    let test = |value: &[u8]| elements(value).any(|e| m.matches(e));
    if matches!(req.version, Version::HTTP_2 | Version::HTTP_3) {
        return match authority {
            Some(a) => test(a.as_bytes()),
            None => req
                .headers
                .get(header::HOST)
                .is_some_and(|h| test(h.as_bytes())),
        };
    }
    if req.headers.contains_key(header::HOST) {
        req.headers
            .get_all(header::HOST)
            .iter()
            .any(|h| test(h.as_bytes()))
    } else {
        authority.is_some_and(|a| test(a.as_bytes()))
    }
}

/// `path`: the URI from its first slash up to the `?` (for an absolute-form URI, after the
/// authority), raw; none for `*` and authority-form URIs (`smp_fetch_path`, src/http_fetch.c).
pub(super) fn path(req: &Parts) -> Option<&[u8]> {
    let p = req.uri.path();
    (!p.is_empty() && p != "*").then_some(p.as_bytes())
}

/// The elements of one field value as `req.hdr()` and `req.cook()` iterate them
/// (`__http_find_header` without `HTTP_FIND_FL_FULL`, src/http_htx.c): split at commas outside
/// double-quoted strings (`http_find_hdr_value_end`, src/http.c), each trimmed of spaces and
/// tabs; empty elements count.
pub(super) fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let s = rest?;
        let (element, tail) = s.split_at(value_end(s, false));
        // `tail` is empty or starts with the comma.
        rest = tail.get(1..);
        Some(trim_lws(element))
    })
}

/// The index of the first `,` (and `;` when `semicolon`) outside a double-quoted string, or
/// the length (`http_find_hdr_value_end`, `http_find_cookie_value_end`, src/http.c).
fn value_end(s: &[u8], semicolon: bool) -> usize {
    let (mut quoted, mut qdpair) = (false, false);
    for (i, &c) in s.iter().enumerate() {
        if qdpair {
            qdpair = false;
        } else if quoted {
            match c {
                b'\\' => qdpair = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == b',' || (semicolon && c == b';') {
            return i;
        }
    }
    s.len()
}

fn is_spht(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn trim_lws(mut s: &[u8]) -> &[u8] {
    while let [first, tail @ ..] = s
        && is_spht(*first)
    {
        s = tail;
    }
    while let [head @ .., last] = s
        && is_spht(*last)
    {
        s = head;
    }
    s
}

/// Whether `test` holds for the value of any cookie called `name` in one `Cookie` element,
/// as `req.cook(<name>)` iterates them (`http_extract_cookie_value`, src/http.c, in list
/// mode): `name = value` pairs separated by `;` or `,`, the name compared exactly, spaces and
/// tabs around both trimmed, quotes kept in the value; pairs without `=` and `$` attributes
/// are skipped. HAProxy stops looking when fewer than `name.len() + 2` bytes remain from the
/// start of a pair, so a last pair `name=` with an empty value is not found.
pub(super) fn any_cookie(h: &[u8], name: &[u8], mut test: impl FnMut(&[u8]) -> bool) -> bool {
    let end = h.len();
    let mut att_beg = 0;
    while att_beg + name.len() + 1 < end {
        while h.get(att_beg).copied().is_some_and(is_spht) {
            att_beg += 1;
        }
        // `equal` stops at `=`, a delimiter or the end; `att_end` follows the name's last
        // non-blank byte.
        let mut equal = att_beg;
        let mut att_end = att_beg;
        while let Some(&c) = h.get(equal) {
            if c == b'=' || c == b';' || c == b',' {
                break;
            }
            equal += 1;
            if !is_spht(c) {
                att_end = equal;
            }
        }
        let (val_beg, val_end, next) = if h.get(equal) == Some(&b'=') {
            let mut val_beg = equal + 1;
            while h.get(val_beg).copied().is_some_and(is_spht) {
                val_beg += 1;
            }
            let next = val_beg + h.get(val_beg..).map_or(0, |v| value_end(v, true));
            let mut val_end = next;
            while val_end > val_beg && h.get(val_end - 1).copied().is_some_and(is_spht) {
                val_end -= 1;
            }
            (val_beg, val_end, next)
        } else {
            (equal, equal, equal)
        };
        let skipped = h.get(att_beg) == Some(&b'$') || equal == next;
        if !skipped
            && h.get(att_beg..att_end) == Some(name)
            && h.get(val_beg..val_end).is_some_and(&mut test)
        {
            return true;
        }
        att_beg = next + 1;
    }
    false
}
