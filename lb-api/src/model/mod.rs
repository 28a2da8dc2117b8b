//! Octavia v2 (and the Neutron subset's) objects: stored form, request parsing and wire form.

pub mod capabilities;
pub mod common;
pub mod flavor;
pub mod graph;
pub mod healthmonitor;
pub mod input;
pub mod l7policy;
pub mod l7rule;
pub mod listener;
pub mod loadbalancer;
pub mod member;
pub mod network;
pub mod pool;
pub mod profile;
pub mod quota;
pub mod stats;
pub mod validate;

/// Implement [`crate::store::Object`] for a type with a `c: Common` field.
macro_rules! octavia_object {
    ($t:ty, $kind:literal, |$s:ident| lb = $lb:expr, parent = $parent:expr) => {
        impl crate::store::Object for $t {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.c.id
            }
            fn project_id(&self) -> Option<&str> {
                Some(&self.c.project_id)
            }
            fn lb_id(&self) -> Option<&str> {
                let $s = self;
                Some($lb)
            }
            fn parent_id(&self) -> Option<&str> {
                let $s = self;
                let _ = $s;
                $parent
            }
            fn created_at(&self) -> &str {
                &self.c.created_at
            }
        }
    };
}
pub(crate) use octavia_object;
