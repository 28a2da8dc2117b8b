//! Handler tests through `app().oneshot()`, one file per resource.

mod availability_zones;
mod child_create;
mod flavors;
mod graph_create;
mod healthmonitors;
mod hosts;
mod l7policies;
mod l7rules;
mod listeners;
mod loadbalancers;
mod members;
mod members_batch;
mod networks;
mod openapi;
mod pools;
mod quotas;
mod quotas_enforced;
mod stats;
mod status;
