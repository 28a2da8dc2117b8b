//! How two answers are compared: status code, the envelope's keys, the exact set of field names
//! at every level, and every value except those that legitimately differ between two servers
//! (ids and timestamps, which are reduced to "which script variable is this" and "a
//! timestamp"; addresses and ports the network layer picks). Error bodies compare their keys
//! and their `faultstring` with ids replaced.

use std::collections::BTreeMap;

use serde_json::Value;

/// One difference, addressed by step name and JSON path.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub step: String,
    pub path: String,
    pub octavia: String,
    pub lb_api: String,
}

/// Fields whose value depends on how each server allocates things: only null-ness compares.
const ALLOCATED: &[&str] = &["vip_address", "vip_port_id", "vip_network_id"];

/// Reduce what may legitimately differ: UUIDs to the script variable holding them on this
/// side (or `<uuid>`), timestamps to `<time>`.
pub fn normalise(v: &Value, names: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(normalise_str(s, names)),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, names)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if ALLOCATED.contains(&k.as_str()) && !x.is_null() {
                        Value::String("<allocated>".into())
                    } else {
                        normalise(x, names)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_uuid_at(b: &[u8], i: usize) -> bool {
    if i + 36 > b.len() {
        return false;
    }
    b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    }) && (i == 0 || !b[i - 1].is_ascii_hexdigit())
        && (i + 36 == b.len() || !b[i + 36].is_ascii_hexdigit())
}

fn normalise_str(s: &str, names: &BTreeMap<String, String>) -> String {
    if is_timestamp(s) {
        return "<time>".into();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if is_uuid_at(b, i) {
            let id = &s[i..i + 36];
            match names.get(id) {
                Some(name) => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                None => out.push_str("<uuid>"),
            }
            i += 36;
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `2026-11-22T19:59:03.153485` or `…03` (naive UTC as Octavia renders it); with a zone too.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[..4].iter().all(u8::is_ascii_digit)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 160 {
        format!("{}…", s.chars().take(157).collect::<String>())
    } else {
        s
    }
}

/// Compare two normalised bodies; `ordered` says whether arrays at this level keep their order
/// (the top-level list of a list call) or are sets (references, tags, CIDRs).
pub fn diff(step: &str, path: &str, oc: &Value, lb: &Value, out: &mut Vec<Mismatch>) {
    let push = |out: &mut Vec<Mismatch>, p: String, a: String, b: String| {
        out.push(Mismatch {
            step: step.to_owned(),
            path: p,
            octavia: a,
            lb_api: b,
        });
    };
    match (oc, lb) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = join(path, k);
                match b.get(k) {
                    None => push(out, p, short(va), "(absent)".into()),
                    Some(vb) => {
                        if k == "faultstring" {
                            compare_fault(&p, va, vb, &mut |p, a, b| push(out, p, a, b));
                        } else {
                            diff(step, &p, va, vb, out);
                        }
                    }
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(Mismatch {
                        step: step.to_owned(),
                        path: join(path, k),
                        octavia: "(absent)".into(),
                        lb_api: short(vb),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let top_list = !path.contains('.') && !path.contains('[') && !path.is_empty();
            let (a, b) = if top_list {
                (a.clone(), b.clone())
            } else {
                (sorted(a), sorted(b))
            };
            if a.len() != b.len() {
                push(
                    out,
                    format!("{path}.len()"),
                    format!("{} {}", a.len(), short(&Value::Array(a.clone()))),
                    format!("{} {}", b.len(), short(&Value::Array(b.clone()))),
                );
                return;
            }
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                diff(step, &format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) => {
            if a != b {
                push(out, path.to_owned(), short(a), short(b));
            }
        }
    }
}

fn compare_fault(p: &str, a: &Value, b: &Value, push: &mut impl FnMut(String, String, String)) {
    // Enum messages list a Python set: the order of the allowed values is random.
    let cut = |v: &Value| -> String {
        let s = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        match s.find("Value should be one of:") {
            Some(i) => s[..i].to_owned(),
            None => s,
        }
    };
    if cut(a) != cut(b) {
        push(p.to_owned(), short(a), short(b));
    }
}

fn sorted(a: &[Value]) -> Vec<Value> {
    let mut v = a.to_vec();
    v.sort_by_key(Value::to_string);
    v
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}
