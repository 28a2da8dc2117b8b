//! String checks from Octavia's `common/validate.py`, `api/common/types.py` and constants:
//! URL paths (health monitors), absolute redirect URLs, domain names, `expected_codes`, and the
//! L7 rule header/cookie/value patterns. Regular expressions are checked with the `regex` crate
//! (the syntax our proxy evaluates), not Python's `re`.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static pattern compiles")
}

/// `HealthMonitorPOST.expected_codes` pattern.
pub const EXPECTED_CODES_PATTERN: &str = r"^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$";
static EXPECTED_CODES: LazyLock<Regex> = LazyLock::new(|| re(EXPECTED_CODES_PATTERN));
/// `HTTP_HEADER_NAME_REGEX`.
static HEADER_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"\A[a-zA-Z0-9!#$%&'*+-.^_`|~]+\z"));
/// `HTTP_COOKIE_VALUE_REGEX`.
static COOKIE_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\A[a-zA-Z0-9!#$%&'()*+-./:<=>?@\[\]^_`{|}~]+\z"));
/// `HTTP_HEADER_VALUE_REGEX`.
static HEADER_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r##"\A[a-zA-Z0-9!"#$%&'()*+,-./:;<=>?@\[\]^_`{|}~\\]+\z"##));
/// `HTTP_QUOTED_HEADER_VALUE_REGEX`.
static QUOTED_HEADER_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r##"\A"[a-zA-Z0-9 \t!"#$%&'()*+,-./:;<=>?@\[\]^_`{|}~\\]*"\z"##));
/// `DISTINGUISHED_NAME_FIELD_REGEX`.
static DN_FIELD: LazyLock<Regex> = LazyLock::new(|| re(r"^([a-zA-Z][A-Za-z0-9-]*)$"));

/// `expected_codes`: `200`, `200, 202`, or `200-204`.
pub fn expected_codes(s: &str) -> bool {
    EXPECTED_CODES.is_match(s)
}

/// Characters RFC 3986 allows in a path (plus `?`/`#` starting query and fragment).
fn uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?#%".contains(c)
}

fn percent_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// `validate.url_path`: an absolute path (`/…`), no whitespace, scheme, host or port.
pub fn url_path(s: &str) -> bool {
    s.starts_with('/') && !s.starts_with("//") && s.chars().all(uri_char) && percent_ok(s)
}

/// `validate.url` with a required `http`/`https` scheme and host.
pub fn url(s: &str) -> bool {
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_once(']').map_or("", |(h, _)| h)
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    !host.trim_start_matches('[').is_empty()
        && authority.chars().all(|c| uri_char(c) || "[]".contains(c))
        && tail.chars().all(uri_char)
        && percent_ok(s)
}

/// Octavia's `DOMAIN_NAME_REGEX`, as shown in its messages.
pub const DOMAIN_NAME_PATTERN: &str =
    r"^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$";

/// `DOMAIN_NAME_REGEX`: labels of 1–63 `[A-Za-z0-9-_]`, not starting or ending with `-`,
/// `_` only as a label's first character; at most 253 characters (one trailing dot allowed).
pub fn domain_name(s: &str) -> bool {
    let body = s.strip_suffix('.').unwrap_or(s);
    if body.is_empty() || body.len() > 253 {
        return false;
    }
    body.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
            && !label.chars().skip(1).any(|c| c == '_')
    })
}

/// `validate.header_name`.
pub fn header_name(s: &str) -> bool {
    HEADER_NAME.is_match(s)
}

/// `validate.header_value_string` (plain or quoted).
pub fn header_value(s: &str) -> bool {
    HEADER_VALUE.is_match(s) || QUOTED_HEADER_VALUE.is_match(s)
}

/// `validate.cookie_value_string`.
pub fn cookie_value(s: &str) -> bool {
    COOKIE_VALUE.is_match(s)
}

/// `DISTINGUISHED_NAME_FIELD_REGEX`.
pub fn dn_field(s: &str) -> bool {
    DN_FIELD.is_match(s)
}

/// `validate.regex`: the error text when `s` does not compile.
pub fn regex_error(s: &str) -> Option<String> {
    Regex::new(s).err().map(|e| {
        e.to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_codes_forms() {
        for ok in ["200", "200,202", "200, 202 ,204", "200-204"] {
            assert!(expected_codes(ok), "{ok}");
        }
        for bad in ["20", "2000", "200-", "200-204,300", "abc", "200;201", ""] {
            assert!(!expected_codes(bad), "{bad}");
        }
    }

    #[test]
    fn paths_urls_and_names() {
        assert!(url_path("/"));
        assert!(url_path("/healthz?x=1"));
        assert!(!url_path("healthz"));
        assert!(!url_path("/a b"));
        assert!(!url_path("//host/x"));
        assert!(!url_path("http://h/x"));
        assert!(url("http://www.example.com"));
        assert!(url("https://example.com:8443/a?b=c"));
        assert!(!url("ftp://example.com"));
        assert!(!url("http://"));
        assert!(!url("http://exa mple.com"));
        assert!(!url("example.com/path"));
        assert!(domain_name("example.com"));
        assert!(domain_name("_srv.example.com."));
        assert!(!domain_name("-bad.com"));
        assert!(!domain_name("a_b.com"));
        assert!(!domain_name("a..b"));
        assert!(header_name("X-Forwarded-For"));
        assert!(!header_name("bad header"));
        assert!(header_value("abc"));
        assert!(header_value("\"quoted value\""));
        assert!(!header_value("un quoted"));
        assert!(cookie_value("abc=="));
        assert!(!cookie_value("a;b"));
        assert!(dn_field("CN"));
        assert!(!dn_field("1CN"));
        assert!(regex_error("^/api").is_none());
        assert!(regex_error("(unclosed").is_some());
    }
}
