//! `lb-agent serve`: the agent as the controller drives it. [`runtime`] holds the data plane and
//! the state it runs, [`api`] is the mutual-TLS HTTPS API that receives desired states,
//! [`report`] turns the data plane's counters into heartbeat reports, [`heartbeat`] sends them,
//! [`vips`] puts the VIP addresses on the VIP-side interface, and [`serve`] wires everything
//! together.

pub mod api;
pub mod heartbeat;
pub mod report;
pub mod runtime;
pub mod serve;
pub mod vips;

pub use runtime::Runtime;
