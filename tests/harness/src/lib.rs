//! lb-testkit: what network tests need to build throw-away topologies safely.
//!
//! - [`Netns`]: a named network namespace, removed on drop (also when the test panics), with
//!   helpers for links, addresses, routes, sysctls and running commands, servers or closures in it.
//! - [`PinDir`]: a private directory on bpffs for pinned maps, removed on drop.
//! - [`sweep`]: removes what crashed or killed test processes left behind.
//! - [`packet`]: builders for well-formed and deliberately broken frames.
//! - [`topology`]: the client / lb / switch / members topology; [`servers`]: member servers.
//! - [`require_root!`]: skips a test that needs root, loudly, except under CI where it fails.
//!
//! Every object gets a name unique to the process and the call (`lbt-<pid>-<seq>-<label>`), so
//! tests run in parallel, and only addresses inside these namespaces ever receive traffic.

pub mod cmd;
pub mod names;
pub mod netns;
pub mod packet;
pub mod pin;
pub mod raw;
pub mod root;
pub mod servers;
pub mod sweep;
pub mod topology;

pub use netns::{Netns, NsProcess};
pub use pin::PinDir;
pub use topology::LbTopology;
