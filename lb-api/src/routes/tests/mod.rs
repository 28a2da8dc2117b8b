//! Handler tests through `app().oneshot()`, one file per resource.

mod healthmonitors;
mod hosts;
mod l7policies;
mod l7rules;
mod listeners;
mod loadbalancers;
mod members;
mod members_batch;
mod networks;
mod pools;
mod status;
