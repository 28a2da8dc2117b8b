//! Differential test against Octavia itself: the same scripted requests go to Octavia's v2 API
//! (the PyPI release `cargo xtask setup` installs, run in-process by
//! `octavia_diff/octavia_driver.py`: noauth, SQLite, noop networking, no message bus) and to
//! lb-api's router, and the answers must agree on status code, envelope, the exact set of
//! field names at every level, and every value except ids, timestamps and allocated addresses
//! (see `octavia_diff/compare.rs`). Pending work is completed explicitly between steps
//! (`settle`) on both sides, so PENDING states compare too. Known, deliberate differences are
//! listed in [`ALLOWED`] with their reason; everything else fails the test with one line per
//! mismatch.

#[path = "octavia_diff/compare.rs"]
mod compare;
#[path = "octavia_diff/harness.rs"]
mod harness;
#[path = "octavia_diff/script.rs"]
mod script;

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use compare::Mismatch;
use harness::{LbApi, Octavia, Req};
use script::{Kind, Step};
use serde_json::Value;

/// Differences we keep on purpose: (step, path, reason). `step` and `path` match exactly, or as
/// a prefix when they end in `*`.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "pool sip on amphora",
        "status",
        "lb-api's amphora provider (the eBPF data plane's Maglev ring) balances SOURCE_IP_PORT; \
         Octavia's HAProxy amphora driver answers 501",
    ),
    (
        "noop lb",
        "loadbalancer.vip_network_id",
        "Octavia's noop provider hands back a made-up VIP without a network; lb-api allocates \
         the VIP port from its Neutron registry whatever the provider",
    ),
    (
        "quota list",
        "quotas[0].*",
        "Octavia's quota GET/PUT (`_get_db_quotas`) writes the then-configured defaults into the \
         stored row as a side effect, so its list shows them as explicit values; lb-api keeps \
         unset limits unset (`null` in the list, docs/api.md), so they follow the defaults",
    ),
    (
        "listener fields comma",
        "listeners[*",
        "Octavia (WSME) takes `fields=name,protocol` as one field name and returns empty \
         objects; lb-api splits on commas (docs/api.md)",
    ),
];

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

#[test]
fn octavia_and_lb_api_answer_alike() {
    let Some(python) = harness::octavia_python() else {
        assert!(
            !under_ci(),
            "the Octavia venv is missing (run `cargo xtask setup`)"
        );
        eprintln!(
            "SKIPPED octavia_and_lb_api_answer_alike: no Octavia venv (run `cargo xtask setup`)"
        );
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut octavia = Octavia::start(&python, dir.path());
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime"),
    );
    let lb_api = LbApi::start(rt, dir.path());

    let steps = script::steps();
    let mut vars_oc: BTreeMap<String, String> = BTreeMap::new();
    let mut vars_lb: BTreeMap<String, String> = BTreeMap::new();
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut transcript = String::new();
    for step in &steps {
        run_step(
            step,
            &mut octavia,
            &lb_api,
            &mut vars_oc,
            &mut vars_lb,
            &mut mismatches,
            &mut transcript,
        );
    }

    let (allowed, failing): (Vec<&Mismatch>, Vec<&Mismatch>) =
        mismatches.iter().partition(|m| allowed_reason(m).is_some());
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{} steps in {elapsed:.1} s: {} mismatches, {} of them allowed",
        steps.len(),
        mismatches.len(),
        allowed.len()
    );
    for m in &allowed {
        eprintln!(
            "  allowed  {} {}: octavia {} / lb-api {} ({})",
            m.step,
            m.path,
            m.octavia,
            m.lb_api,
            allowed_reason(m).unwrap_or_default()
        );
    }
    if !failing.is_empty() {
        let transcript_file = dir.path().join("transcript.txt");
        std::fs::write(&transcript_file, &transcript).expect("write transcript");
        let kept = dir.keep();
        let mut report = String::new();
        for m in &failing {
            report.push_str(&format!(
                "\n  {:<44} {}\n      octavia: {}\n      lb-api:  {}",
                m.step, m.path, m.octavia, m.lb_api
            ));
        }
        panic!(
            "{} differences between Octavia and lb-api:{report}\n\n(full transcript: {}; Octavia's log: {})",
            failing.len(),
            kept.join("transcript.txt").display(),
            kept.join("octavia.log").display()
        );
    }
}

fn allowed_reason(m: &Mismatch) -> Option<&'static str> {
    let matches = |pat: &str, s: &str| match pat.strip_suffix('*') {
        Some(prefix) => s.starts_with(prefix),
        None => pat == s,
    };
    ALLOWED
        .iter()
        .find(|(step, path, _)| matches(step, &m.step) && matches(path, &m.path))
        .map(|(_, _, reason)| *reason)
}

/// Replace `{var}` in `s` with the variable's value on one side.
fn subst(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn subst_json(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(subst(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| subst_json(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), subst_json(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn reverse(vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    vars.iter().map(|(k, v)| (v.clone(), k.clone())).collect()
}

fn run_step(
    step: &Step,
    octavia: &mut Octavia,
    lb_api: &LbApi,
    vars_oc: &mut BTreeMap<String, String>,
    vars_lb: &mut BTreeMap<String, String>,
    mismatches: &mut Vec<Mismatch>,
    transcript: &mut String,
) {
    if let Some(var) = &step.only_if
        && !vars_oc.contains_key(var)
        && !vars_lb.contains_key(var)
    {
        transcript.push_str(&format!("\n## {} (skipped: no {var})\n", step.name));
        return;
    }
    let (method, path, body, raw, project, roles, save) = match &step.kind {
        Kind::Settle => {
            octavia.settle();
            lb_api.settle();
            transcript.push_str("\n## settle\n");
            return;
        }
        Kind::Call {
            method,
            path,
            body,
            raw,
            project,
            roles,
            save,
        } => (method, path, body, raw, project, roles, save),
    };
    let body_lb = body.as_ref().map(|b| subst_json(b, vars_lb));
    let path_lb = subst(path, vars_lb);
    let req_lb = Req {
        method,
        path: &path_lb,
        project: project.as_deref(),
        roles: roles.as_deref(),
        body: body_lb.as_ref(),
        raw: raw.as_deref(),
    };
    let (st_lb, resp_lb) = lb_api.call(&req_lb);
    if step.lb_api_only {
        for (var, pointer) in save {
            let id = resp_lb
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{}: no {pointer} in {resp_lb}", step.name));
            vars_lb.insert(var.clone(), id.to_owned());
            vars_oc.insert(var.clone(), id.to_owned());
        }
        transcript.push_str(&format!(
            "\n## {} (lb-api only)\n{method} {path_lb}\n<- {st_lb} {resp_lb}\n",
            step.name
        ));
        return;
    }
    let body_oc = body.as_ref().map(|b| subst_json(b, vars_oc));
    let path_oc = subst(path, vars_oc);
    let req_oc = Req {
        method,
        path: &path_oc,
        project: project.as_deref(),
        roles: roles.as_deref(),
        body: body_oc.as_ref(),
        raw: raw.as_deref(),
    };
    let (st_oc, resp_oc) = octavia.call(&req_oc);
    transcript.push_str(&format!(
        "\n## {}\n{method} {path}\n  octavia <- {st_oc} {resp_oc}\n  lb-api  <- {st_lb} {resp_lb}\n",
        step.name
    ));
    for (var, pointer) in save {
        for (resp, vars) in [(&resp_oc, &mut *vars_oc), (&resp_lb, &mut *vars_lb)] {
            match resp.pointer(pointer).and_then(Value::as_str) {
                Some(id) => vars.insert(var.clone(), id.to_owned()),
                None => vars.remove(var),
            };
        }
    }
    let names_oc = reverse(vars_oc);
    let names_lb = reverse(vars_lb);
    let n_oc = compare::normalise(&resp_oc, &names_oc);
    let n_lb = compare::normalise(&resp_lb, &names_lb);
    if st_oc != st_lb {
        mismatches.push(Mismatch {
            step: step.name.clone(),
            path: "status".into(),
            octavia: format!("{st_oc} {}", short(&n_oc)),
            lb_api: format!("{st_lb} {}", short(&n_lb)),
        });
        return;
    }
    compare::diff(&step.name, "", &n_oc, &n_lb, mismatches);
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}…", s.chars().take(297).collect::<String>())
    } else {
        s
    }
}
