//! The request script both servers receive, in order. `{name}` in a path or a body string is
//! the id saved under `name` on that side (`.save(name, json-pointer)`; unset again when an
//! answer lacks it); `settle()` completes all
//! pending work on both sides (Octavia through its driver-updater, lb-api through its noop
//! provider).

#[path = "script/children.rs"]
mod children;
#[path = "script/edge_cases.rs"]
mod edge_cases;
#[path = "script/lists.rs"]
mod lists;
#[path = "script/objects.rs"]
mod objects;

use serde_json::Value;

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

/// Members of the round-robin pool.
fn members_path() -> String {
    format!("{PO}/{{p_rr}}/members")
}

/// Rules of the first L7 policy.
fn rules_path() -> String {
    format!("{L7}/{{pol1}}/rules")
}

/// The whole script, in order.
pub fn steps() -> Vec<Step> {
    let mut s = Script::default();
    objects::objects(&mut s);
    children::children(&mut s);
    lists::lists_and_deletes(&mut s);
    edge_cases::pairings(&mut s);
    edge_cases::noop_provider(&mut s);
    edge_cases::admin_and_misc(&mut s);
    s.steps
}
