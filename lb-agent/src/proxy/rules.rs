//! A listener's L7 policies, compiled once per pushed state and decided per request, sans-io.
//!
//! The semantics are those of the HAProxy configuration Octavia's amphora renders, read from
//! `octavia/common/jinja/haproxy/combined_listeners/templates/macros.j2` ([`l7rule_macro`],
//! `l7policy_macro`, `frontend_macro`) and `jinja_cfg.py` ([`_transform_l7policy`]) and
//! checked against HAProxy's sources (permalinks below, [`HAPROXY`]):
//!
//! - A policy is written only when it is admin-up and has at least one rule left after
//!   dropping the admin-down ones; its rules are ANDed (`... if r1 !r2`), `invert` is `!`.
//!   `REDIRECT_TO_POOL` is written only for an existing, admin-up pool.
//! - Rule fetches: `HOST_NAME` → `req.hdr(host) -i`, `PATH` → `path`, `FILE_TYPE` →
//!   `path_end`, `HEADER` → `req.hdr(<key>)`, `COOKIE` → `req.cook(<key>)`, then
//!   `-m reg|beg|end|sub|str <value>`. `SSL_CONN_HAS_CERT` → `ssl_c_used` (no value),
//!   `SSL_VERIFY_RESULT` → `ssl_c_verify eq <value>` (compare type unused), `SSL_DN_FIELD` →
//!   `ssl_c_s_dn(<key>) -m ... <value>`.
//! - A fetch that finds nothing fails the ACL (so `!acl` holds). `req.hdr()` and `req.cook()`
//!   yield every occurrence and the ACL matches when any of them does.
//! - Order: all `http-request deny`, then all `redirect`, then all `use_backend`, each group in
//!   `position` order; the first rule that holds decides (see [`Group`]).
//!
//! Invariants: [`Policies`] is immutable once compiled (`Send + Sync`, shared by every request
//! of the listener); [`Policies::decide`] never panics and borrows everything it matches from
//! the request: the only allocation is a redirect's `Location`. Nothing a client sends can
//! make a compiled rule misbehave; a rule that cannot be compiled never matches and is logged
//! once per compile with its id.
//!
//! [`l7rule_macro`]: https://github.com/openstack/octavia/blob/01a3ed55dbd45a63dc09ac807e19a34689a12d70/octavia/common/jinja/haproxy/combined_listeners/templates/macros.j2
//! [`_transform_l7policy`]: https://github.com/openstack/octavia/blob/0321c28588acf4e425dcfcc9f63353808e53247d/octavia/common/jinja/haproxy/combined_listeners/jinja_cfg.py
//! [`HAPROXY`]: https://github.com/haproxy/haproxy/tree/50872daa6a857e82afc40b1c5161924aef4172d7

use http::{HeaderName, header, request::Parts, uri::PathAndQuery};
use lb_proto::{CompareType, L7Action, L7Policy, L7Rule, L7RuleType};
use regex::bytes::{Regex, RegexBuilder};

mod fetch;

use fetch::{any_cookie, elements, host_matches, path};

/// Upper bound of one compiled rule regex (`RegexBuilder::size_limit`). Octavia caps a rule
/// value at 255 characters; this leaves room for large repetitions of classes while keeping a
/// hostile pattern from taking the agent's memory (the crate's default is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The codes HAProxy's `redirect` accepts (`http_parse_redirect_rule`, src/http_rules.c);
/// 302 when none is given.
const REDIRECT_CODES: [u16; 5] = [301, 302, 303, 307, 308];
const DEFAULT_REDIRECT_CODE: u16 = 302;

/// What the listener's policies decide for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// `REJECT`: answer 403.
    Reject,
    /// `REDIRECT_TO_URL` / `REDIRECT_PREFIX`: answer `code` with `Location: location`.
    Redirect { code: u16, location: String },
    /// `REDIRECT_TO_POOL`: send to this pool id.
    Pool(&'a str),
    /// No policy matched: the listener's default pool.
    Default,
}

/// What the connection's TLS layer knows about the client certificate, for the `SSL_*` rule
/// types. On clear-text connections [`Policies::decide`] uses [`ClientTls::NONE`]:
/// `SSL_CONN_HAS_CERT` is false, `SSL_VERIFY_RESULT` and `SSL_DN_FIELD` find nothing (so
/// they match only inverted). TERMINATED_HTTPS connections call [`Policies::decide_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientTls<'a> {
    /// `ssl_c_used`: the session carries a client certificate.
    pub has_cert: bool,
    /// `ssl_c_verify`: the verification result (0 = OK) on a TLS connection; `None` on a clear
    /// one, where HAProxy's fetch fails.
    pub verify_result: Option<i64>,
    /// `ssl_c_s_dn`: the subject DN's entries `(field, value)` in certificate order.
    pub subject_dn: &'a [(String, String)],
}

impl ClientTls<'static> {
    /// A clear-text connection: no certificate, no verification result, no DN.
    pub const NONE: Self = Self {
        has_cert: false,
        verify_result: None,
        subject_dn: &[],
    };
}

impl ClientTls<'_> {
    /// `ssl_c_s_dn(<field>)`: the first entry of that field from the start of the DN; field
    /// names compare case-insensitively (`ssl_sock_get_dn_entry`, src/ssl_utils.c).
    fn dn_field(&self, field: &str) -> Option<&str> {
        self.subject_dn
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_str())
    }
}

/// A listener's L7 policies, compiled for evaluation (see the module docs).
#[derive(Debug, Default)]
pub struct Policies {
    /// In evaluation order: [`Group`] first, then `position`.
    policies: Vec<Policy>,
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Policies>();
};

/// HAProxy evaluates a frontend's rule sets in a fixed order whatever their order in the file:
/// `http-request` rules (Octavia's `http-request deny`), then `redirect` rules
/// (`http_process_req_common`, src/http_ana.c, which runs `http_req_rules` then
/// `redirect_rules`), then `use_backend` rules (`process_switching_rules`, src/stream.c, a
/// later analyser). `cfgparse-listen.c` says as much when parsing: "a 'redirect' rule placed
/// after a 'use_backend' rule will still be processed before" (`warnif_misplaced_redirect`,
/// `warnif_misplaced_http_req`). Within a set, rules run in declaration order and the first
/// one whose condition holds applies (configuration.txt, `use_backend`: "evaluated in their
/// declaration order, and the first one which matches will assign the backend"). Octavia
/// declares them in `position` order, so a `REJECT` at position 3 beats a `REDIRECT_TO_POOL`
/// at position 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Deny,
    Redirect,
    UseBackend,
}

#[derive(Debug)]
struct Policy {
    action: Action,
    /// The enabled rules, all of which must hold (never empty).
    rules: Vec<Rule>,
}

#[derive(Debug)]
enum Action {
    Reject,
    /// `redirect location <url>`: the URL as is.
    Location {
        code: u16,
        url: Box<str>,
    },
    /// `redirect prefix <prefix>`; see [`prefix_location`].
    Prefix {
        code: u16,
        prefix: Box<str>,
    },
    Pool(Box<str>),
}

#[derive(Debug)]
struct Rule {
    test: Test,
    invert: bool,
}

/// One ACL: where the sample comes from and how it is matched.
#[derive(Debug)]
enum Test {
    /// `req.hdr(host) -i`: see [`host_matches`].
    Host(Matcher),
    /// `path` (also `FILE_TYPE`, see [`Test::compile`]).
    Path(Matcher),
    /// `req.hdr(<name>)`.
    Header(HeaderName, Matcher),
    /// `req.cook(<name>)`.
    Cookie(Box<[u8]>, Matcher),
    /// `ssl_c_used`.
    HasCert,
    /// `ssl_c_verify eq <values>`.
    VerifyResult(Box<[i64]>),
    /// `ssl_c_s_dn(<field>)`.
    DnField(Box<str>, Matcher),
    /// A rule that could not be compiled: it never matches (so it holds when inverted).
    Never,
}

/// HAProxy's pattern list of one ACL: the sample matches when any pattern does.
#[derive(Debug)]
enum Matcher {
    Str {
        how: StrMatch,
        /// `-i` (only `HOST_NAME`): ASCII case-insensitive, as `strncasecmp` in the C locale.
        icase: bool,
        patterns: Box<[Box<[u8]>]>,
    },
    /// `-m reg`: unanchored search (`regex_exec2`).
    Reg(Box<[Regex]>),
}

/// `-m str|beg|end|sub` (`pat_match_str`, `_beg`, `_end`, `_sub` in src/pattern.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StrMatch {
    Equal,
    Begins,
    Ends,
    Contains,
}

/// Why a rule cannot be compiled; it then never matches.
#[derive(Debug, thiserror::Error)]
enum RuleError {
    #[error("{kind:?} rule without a key")]
    MissingKey { kind: L7RuleType },
    #[error("header name {key:?} is not a valid HTTP field name")]
    HeaderName { key: String },
    #[error("value does not parse as a HAProxy configuration word: {0}")]
    Lex(#[from] LexError),
    #[error("value word {word:?} starts with '-': HAProxy would read it as an ACL flag")]
    FlagLike { word: String },
    #[error("value is empty after HAProxy's quoting and comments: the ACL never matches")]
    NoPattern,
    #[error("regex {pattern:?} does not compile: {source}")]
    Regex {
        pattern: String,
        source: regex::Error,
    },
    #[error("regex pattern is not UTF-8")]
    RegexNotUtf8,
    #[error("{word:?} is not an integer")]
    Integer { word: String },
}

/// HAProxy refuses the configuration line (`parse_line`, src/tools.c).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum LexError {
    #[error("unmatched quote")]
    Quote,
    #[error("invalid \\x escape")]
    Hex,
}

impl Policies {
    /// Compiles a listener's policies. `enabled_pool(id)` says whether a pool exists and is
    /// admin-up.
    pub fn compile(policies: &[L7Policy], enabled_pool: impl Fn(&str) -> bool) -> Self {
        let mut compiled: Vec<(Group, u32, Policy)> = Vec::new();
        for p in policies.iter().filter(|p| p.admin_state_up) {
            // `_transform_l7policy` keeps the enabled rules; `frontend_macro` skips a policy
            // left without any.
            let rules: Vec<&L7Rule> = p.rules.iter().filter(|r| r.admin_state_up).collect();
            if rules.is_empty() {
                continue;
            }
            let Some((group, action)) = compile_action(p, &enabled_pool) else {
                continue;
            };
            let rules = rules
                .into_iter()
                .map(|r| Rule {
                    test: Test::compile(r).unwrap_or_else(|error| {
                        tracing::warn!(
                            policy = %p.id, rule = %r.id, %error,
                            "l7rule cannot be compiled; it never matches"
                        );
                        Test::Never
                    }),
                    invert: r.invert,
                })
                .collect();
            compiled.push((group, p.position, Policy { action, rules }));
        }
        // Stable: equal positions (which Octavia does not produce) keep their pushed order.
        compiled.sort_by_key(|(group, position, _)| (*group, *position));
        Self {
            policies: compiled.into_iter().map(|(_, _, p)| p).collect(),
        }
    }

    /// Decides a request of a clear-text listener (no client certificate).
    pub fn decide(&self, req: &Parts) -> Decision<'_> {
        self.decide_with(req, &ClientTls::NONE)
    }

    /// Decides a request whose connection's TLS state is `tls`.
    pub fn decide_with(&self, req: &Parts, tls: &ClientTls<'_>) -> Decision<'_> {
        let Some(policy) = self
            .policies
            .iter()
            .find(|p| p.rules.iter().all(|r| r.holds(req, tls)))
        else {
            return Decision::Default;
        };
        match &policy.action {
            Action::Reject => Decision::Reject,
            Action::Location { code, url } => Decision::Redirect {
                code: *code,
                location: url.to_string(),
            },
            Action::Prefix { code, prefix } => Decision::Redirect {
                code: *code,
                location: prefix_location(prefix, req),
            },
            Action::Pool(id) => Decision::Pool(id),
        }
    }

    /// No policy applies: every request goes to the default pool.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

/// The group and action `l7policy_macro` writes for `p`, or `None` when it writes nothing.
fn compile_action(p: &L7Policy, enabled_pool: &impl Fn(&str) -> bool) -> Option<(Group, Action)> {
    let code = || match p.redirect_http_code {
        None => DEFAULT_REDIRECT_CODE,
        Some(c) if REDIRECT_CODES.contains(&c) => c,
        Some(c) => {
            // HAProxy would refuse the whole configuration; the API validates codes.
            tracing::warn!(policy = %p.id, code = c, "unsupported redirect code; using 302");
            DEFAULT_REDIRECT_CODE
        }
    };
    let missing = |what: &str| {
        tracing::warn!(policy = %p.id, "l7policy without {what}; skipped");
    };
    match p.action {
        L7Action::Reject => Some((Group::Deny, Action::Reject)),
        L7Action::RedirectToUrl => match &p.redirect_url {
            Some(url) => Some((
                Group::Redirect,
                Action::Location {
                    code: code(),
                    url: url.as_str().into(),
                },
            )),
            None => {
                missing("redirect_url");
                None
            }
        },
        L7Action::RedirectPrefix => match &p.redirect_prefix {
            Some(prefix) => Some((
                Group::Redirect,
                Action::Prefix {
                    code: code(),
                    prefix: prefix.as_str().into(),
                },
            )),
            None => {
                missing("redirect_prefix");
                None
            }
        },
        // `l7policy.redirect_pool.enabled`: nothing is written for a missing or disabled pool.
        L7Action::RedirectToPool => p
            .redirect_pool_id
            .as_deref()
            .filter(|id| enabled_pool(id))
            .map(|id| (Group::UseBackend, Action::Pool(id.into()))),
    }
}

/// `redirect prefix <prefix>`: the prefix followed by the request's URI from its path on,
/// query string included, or by `/` when the URI has no path (`*`, authority form). A prefix
/// of exactly `/` adds nothing, to allow self-redirects; any other prefix is prepended as is,
/// so `http://a/` + `/b` gives `http://a//b` (`http_apply_redirect_rule`,
/// `REDIRECT_TYPE_PREFIX`, src/http_ana.c; configuration.txt, `redirect`: "built from the
/// concatenation of <pfx> and the complete URI path, including the query string ... if <pfx>
/// equals exactly "/", then nothing is inserted before the original URI").
fn prefix_location(prefix: &str, req: &Parts) -> String {
    let rest = req
        .uri
        .path_and_query()
        .map(PathAndQuery::as_str)
        .filter(|s| !s.is_empty() && *s != "*")
        .unwrap_or("/");
    if prefix == "/" {
        return rest.to_owned();
    }
    let mut location = String::with_capacity(prefix.len() + rest.len());
    location.push_str(prefix);
    location.push_str(rest);
    location
}

impl Rule {
    fn holds(&self, req: &Parts, tls: &ClientTls<'_>) -> bool {
        self.test.found(req, tls) != self.invert
    }
}

impl Test {
    fn compile(r: &L7Rule) -> Result<Self, RuleError> {
        let key = || {
            r.key
                .as_deref()
                .ok_or(RuleError::MissingKey { kind: r.kind })
        };
        Ok(match r.kind {
            L7RuleType::HostName => Self::Host(Matcher::compile(r, true)?),
            L7RuleType::Path => Self::Path(Matcher::compile(r, false)?),
            // `path_end -m <method>` is `path -m <method>`: `path_end` is the ACL keyword
            // `{ "path_end", "path", PAT_MATCH_END }` (src/http_acl.c), and `parse_acl_expr`
            // (src/acl.c) first installs that default matcher, then replaces parse, index and
            // match functions with the ones an explicit `-m` names. So Octavia's
            // `FILE_TYPE EQUAL_TO jpg` (`path_end -m str jpg`) holds only for a path equal to
            // `jpg`, and `FILE_TYPE REGEX` searches the whole path. configuration.txt notes
            // that derivatives "must not be used ... in ACLs with a "-m" pattern matching
            // method"; HAProxy accepts them all the same, with these semantics.
            L7RuleType::FileType => Self::Path(Matcher::compile(r, false)?),
            L7RuleType::Header => {
                let key = key()?;
                let name =
                    HeaderName::from_bytes(key.as_bytes()).map_err(|_| RuleError::HeaderName {
                        key: key.to_owned(),
                    })?;
                Self::Header(name, Matcher::compile(r, false)?)
            }
            L7RuleType::Cookie => {
                Self::Cookie(key()?.as_bytes().into(), Matcher::compile(r, false)?)
            }
            // `acl <id> ssl_c_used`: a boolean fetch with no pattern; the value is not written.
            L7RuleType::SslConnHasCert => Self::HasCert,
            // `ssl_c_verify eq <value>`: an integer match; the compare type is not written.
            L7RuleType::SslVerifyResult => Self::VerifyResult(
                value_words(&r.value)?
                    .into_iter()
                    .map(|w| {
                        std::str::from_utf8(&w)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .ok_or_else(|| RuleError::Integer {
                                word: String::from_utf8_lossy(&w).into_owned(),
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            L7RuleType::SslDnField => Self::DnField(key()?.into(), Matcher::compile(r, false)?),
        })
    }

    /// Whether the ACL finds a sample that matches, before `invert`.
    fn found(&self, req: &Parts, tls: &ClientTls<'_>) -> bool {
        match self {
            Self::Host(m) => host_matches(req, m),
            Self::Path(m) => path(req).is_some_and(|p| m.matches(p)),
            Self::Header(name, m) => req
                .headers
                .get_all(name)
                .iter()
                .any(|v| elements(v.as_bytes()).any(|e| m.matches(e))),
            Self::Cookie(name, m) => req
                .headers
                .get_all(header::COOKIE)
                .iter()
                .any(|v| elements(v.as_bytes()).any(|e| any_cookie(e, name, |c| m.matches(c)))),
            Self::HasCert => tls.has_cert,
            Self::VerifyResult(values) => tls.verify_result.is_some_and(|r| values.contains(&r)),
            Self::DnField(field, m) => tls.dn_field(field).is_some_and(|v| m.matches(v.as_bytes())),
            Self::Never => false,
        }
    }
}

impl Matcher {
    /// `<fetch> [-i] -m <method> <value>`; `icase` is the `-i` Octavia writes for host names.
    fn compile(r: &L7Rule, icase: bool) -> Result<Self, RuleError> {
        let words = value_words(&r.value)?;
        let how = match r.compare_type {
            CompareType::Regex => {
                let regexes = words
                    .iter()
                    .map(|w| {
                        let pattern =
                            std::str::from_utf8(w).map_err(|_| RuleError::RegexNotUtf8)?;
                        // Byte-oriented without Unicode classes, like the PCRE HAProxy links
                        // (no UTF mode): `.` is one byte, `\w` and case folding are ASCII.
                        // Constructs PCRE has and this crate lacks (backreferences,
                        // lookaround) fail to compile, and the rule never matches.
                        RegexBuilder::new(pattern)
                            .case_insensitive(icase)
                            .unicode(false)
                            .size_limit(REGEX_SIZE_LIMIT)
                            .build()
                            .map_err(|e| RuleError::Regex {
                                pattern: pattern.to_owned(),
                                source: e,
                            })
                    })
                    .collect::<Result<_, _>>()?;
                return Ok(Self::Reg(regexes));
            }
            CompareType::StartsWith => StrMatch::Begins,
            CompareType::EndsWith => StrMatch::Ends,
            CompareType::Contains => StrMatch::Contains,
            CompareType::EqualTo => StrMatch::Equal,
        };
        Ok(Self::Str {
            how,
            icase,
            patterns: words.into_iter().map(Vec::into_boxed_slice).collect(),
        })
    }

    fn matches(&self, sample: &[u8]) -> bool {
        match self {
            Self::Str {
                how,
                icase,
                patterns,
            } => patterns
                .iter()
                .any(|p| str_matches(*how, *icase, p, sample)),
            Self::Reg(regexes) => regexes.iter().any(|re| re.is_match(sample)),
        }
    }
}

fn str_matches(how: StrMatch, icase: bool, pattern: &[u8], sample: &[u8]) -> bool {
    let eq = |a: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(pattern)
        } else {
            a == pattern
        }
    };
    match how {
        StrMatch::Equal => eq(sample),
        StrMatch::Begins => sample.get(..pattern.len()).is_some_and(eq),
        StrMatch::Ends => sample
            .len()
            .checked_sub(pattern.len())
            .and_then(|start| sample.get(start..))
            .is_some_and(eq),
        // An empty pattern: `pat_match_sub` compares the sample's bytes with the pattern's
        // terminating NUL first, which no header byte equals.
        StrMatch::Contains => !pattern.is_empty() && sample.windows(pattern.len()).any(eq),
    }
}

/// The rule value as HAProxy's ACL receives it: Octavia's `_escape_haproxy_config_string`
/// (backslash → `\\`, space → `\ `), then HAProxy's configuration lexer ([`haproxy_words`]).
/// Every word is one pattern. A first word starting with `-` would be parsed as an ACL flag
/// (`parse_acl_expr`), usually making the configuration invalid: such a rule never matches.
fn value_words(value: &str) -> Result<Vec<Vec<u8>>, RuleError> {
    let escaped = value.replace('\\', "\\\\").replace(' ', "\\ ");
    let words = haproxy_words(&escaped)?;
    match words.first() {
        None => Err(RuleError::NoPattern),
        Some(w) if w.first() == Some(&b'-') => Err(RuleError::FlagLike {
            word: String::from_utf8_lossy(w).into_owned(),
        }),
        Some(_) => Ok(words),
    }
}

/// The words HAProxy's configuration parser makes of the end of a line (`parse_line`,
/// src/tools.c, with the options `readcfgfile` passes; configuration.txt section 2.2, "Quoting
/// and escaping"): unescaped white space separates words; `"..."` and `'...'` quote (so
/// Octavia's quoted header values `"a b"` arrive unquoted); outside single quotes a backslash
/// escapes space, `\`, `#`, `'`, `"`, `$` (within double quotes), and makes `\t`, `\n`, `\r`
/// and `\xHH`; anything else keeps its backslash; an unquoted `#` starts a comment.
/// Environment variables (`$NAME` within double quotes) are not expanded: they stay literal.
fn haproxy_words(line: &str) -> Result<Vec<Vec<u8>>, LexError> {
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut in_word = false;
    let (mut squote, mut dquote) = (false, false);
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\n' | b'\r' | 0 => break,
            b'#' if !squote && !dquote => break,
            b'"' if !squote => {
                // A closing quote makes a word even when nothing was quoted (`""`).
                in_word |= dquote;
                dquote = !dquote;
                i += 1;
            }
            b'\'' if !dquote => {
                in_word |= squote;
                squote = !squote;
                i += 1;
            }
            b'\\' if !squote => {
                in_word = true;
                let next = b.get(i + 1).copied();
                let (byte, used) = match next {
                    Some(n @ (b' ' | b'\\' | b'#' | b'\'' | b'"')) => (n, 2),
                    Some(b'$') if dquote => (b'$', 2),
                    Some(b't') => (b'\t', 2),
                    Some(b'n') => (b'\n', 2),
                    Some(b'r') => (b'\r', 2),
                    Some(b'x') => {
                        let hex = |j: usize| b.get(j).and_then(|&h| char::from(h).to_digit(16));
                        match (hex(i + 2), hex(i + 3)) {
                            // Both digits are below 16, so the byte fits.
                            (Some(hi), Some(lo)) => {
                                (u8::try_from(hi * 16 + lo).map_err(|_| LexError::Hex)?, 4)
                            }
                            _ => return Err(LexError::Hex),
                        }
                    }
                    _ => (b'\\', 1),
                };
                word.push(byte);
                i += used;
            }
            c if c.is_ascii_whitespace() || c == 0x0b => {
                if squote || dquote {
                    word.push(c);
                    in_word = true;
                } else if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                i += 1;
            }
            _ => {
                word.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if squote || dquote {
        return Err(LexError::Quote);
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests;
