//! Provider drivers: what carries a change out after the API has stored it. Today every enabled
//! provider name is served by the [`noop::Noop`] driver, which completes each change itself
//! (there is no agent yet); a real driver will push to agents and report back.

pub mod noop;

use std::sync::Arc;

/// What the API tells a provider after committing a change.
pub trait Driver: Send + Sync + 'static {
    /// Something under load balancer `lb_id` entered a `PENDING_*` state.
    fn changed(&self, lb_id: &str);

    /// An operator asked for a failover of `lb_id` (already `PENDING_UPDATE`): re-push, or
    /// move it to another host when its own is gone.
    fn failover(&self, lb_id: &str) {
        self.changed(lb_id);
    }
}

/// Shared handle to the active driver.
pub type DriverHandle = Arc<dyn Driver>;
