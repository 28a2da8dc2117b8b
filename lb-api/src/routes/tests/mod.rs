//! Handler tests through `app().oneshot()`, one file per resource.

mod listeners;
mod loadbalancers;
mod networks;
