//! Loads the embedded eBPF object, verifies it in the kernel and attaches its programs: XDP
//! `lb_xdp` plus the TC ingress companion `lb_tc_in` on the interfaces that carry balanced
//! traffic, and `lb_pass` where a veth peer must accept redirected frames.
//!
//! A [`Dataplane`] owns the loaded programs, maps and links: dropping it detaches everything it
//! attached and frees the maps (nothing is pinned yet).

use std::fmt;

use aya::{
    Ebpf, EbpfLoader,
    programs::{SchedClassifier, TcAttachType, Xdp, XdpMode},
};
use lb_common::maps::{PASS_PROGRAM, TC_PROGRAM, XDP_PROGRAM};

use super::{
    EBPF_OBJECT,
    plan::{Plan, Planner},
};
use crate::DataplaneError;

/// How XDP is attached to an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachMode {
    /// Native (driver) mode, falling back to generic mode if the driver refuses.
    #[default]
    Auto,
    /// Native (driver) XDP: fastest; veth, mlx5, ice, i40e, ... support it.
    Native,
    /// Generic (skb) XDP: works on any interface, at stack speed.
    Generic,
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Native => "native",
            Self::Generic => "generic",
        })
    }
}

/// The loaded data plane.
pub struct Dataplane {
    pub(crate) ebpf: Ebpf,
    attached: Vec<(String, AttachMode)>,
    /// Slot assignments of the applied state.
    pub(crate) planner: Planner,
    /// What the maps hold, for diffing the next apply (`None`: unknown, rewrite all).
    pub(crate) applied: Option<Plan>,
    /// `CFG_F_*` bits merged into the config entry.
    pub(crate) config_flags: u32,
}

impl Dataplane {
    /// Loads and verifies the embedded object. Needs root (or CAP_BPF + CAP_NET_ADMIN).
    pub fn load() -> Result<Self, DataplaneError> {
        Self::load_object(EBPF_OBJECT)
    }

    /// Loads and verifies a given object (the embedded one unless a test says otherwise).
    pub fn load_object(object: &[u8]) -> Result<Self, DataplaneError> {
        if object.is_empty() {
            return Err(DataplaneError::EmptyObject);
        }
        let mut ebpf = EbpfLoader::new().load(object)?;
        for name in [XDP_PROGRAM, PASS_PROGRAM] {
            xdp_named(&mut ebpf, name)?
                .load()
                .map_err(|source| DataplaneError::Program { name, source })?;
        }
        tc_program(&mut ebpf)?
            .load()
            .map_err(|source| DataplaneError::Program {
                name: TC_PROGRAM,
                source,
            })?;
        Ok(Self {
            ebpf,
            attached: Vec::new(),
            planner: Planner::default(),
            applied: None,
            config_flags: 0,
        })
    }

    /// Attaches `lb_pass` (XDP_PASS) to `iface`: a veth only delivers frames redirected into it
    /// when its peer runs an XDP program, so the peers of balanced veth links need this.
    pub fn attach_pass(&mut self, iface: &str) -> Result<(), DataplaneError> {
        xdp_named(&mut self.ebpf, PASS_PROGRAM)?
            .attach(iface, XdpMode::Driver)
            .map_err(|source| DataplaneError::Attach {
                iface: iface.to_owned(),
                mode: "native",
                source,
            })?;
        Ok(())
    }

    /// Attaches the XDP entry point and its TC ingress companion to `iface` (resolved in the
    /// calling thread's network namespace) and enables IPv4/IPv6 forwarding on it, without
    /// which the kernel's route lookup (`bpf_fib_lookup`) refuses to route translated packets.
    /// Returns the XDP mode actually used.
    pub fn attach(&mut self, iface: &str, mode: AttachMode) -> Result<AttachMode, DataplaneError> {
        enable_forwarding(iface)?;
        let used = self.attach_xdp(iface, mode)?;
        tc_program(&mut self.ebpf)?
            .attach(iface, TcAttachType::Ingress)
            .map_err(|source| DataplaneError::Attach {
                iface: iface.to_owned(),
                mode: "tc ingress",
                source,
            })?;
        Ok(used)
    }

    fn attach_xdp(&mut self, iface: &str, mode: AttachMode) -> Result<AttachMode, DataplaneError> {
        let program = xdp_program(&mut self.ebpf)?;
        let attempt = |program: &mut Xdp, used: AttachMode| {
            let xdp_mode = match used {
                AttachMode::Generic => XdpMode::Skb,
                AttachMode::Native | AttachMode::Auto => XdpMode::Driver,
            };
            program
                .attach(iface, xdp_mode)
                .map(|_link| used)
                .map_err(|source| DataplaneError::Attach {
                    iface: iface.to_owned(),
                    mode: match used {
                        AttachMode::Generic => "generic",
                        AttachMode::Native | AttachMode::Auto => "native",
                    },
                    source,
                })
        };
        let used = match mode {
            AttachMode::Auto => match attempt(program, AttachMode::Native) {
                Ok(used) => used,
                Err(native) => {
                    tracing::warn!(%iface, error = %native, "native XDP refused; using generic");
                    attempt(program, AttachMode::Generic)?
                }
            },
            other => attempt(program, other)?,
        };
        self.attached.push((iface.to_owned(), used));
        Ok(used)
    }

    /// Interfaces the program is attached to, with the mode used.
    #[must_use]
    pub fn attached(&self) -> &[(String, AttachMode)] {
        &self.attached
    }
}

pub(crate) fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut Xdp, DataplaneError> {
    xdp_named(ebpf, XDP_PROGRAM)
}

fn xdp_named<'a>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut Xdp, DataplaneError> {
    ebpf.program_mut(name)
        .ok_or(DataplaneError::MissingProgram { name })?
        .try_into()
        .map_err(|source| DataplaneError::Program { name, source })
}

fn tc_program(ebpf: &mut Ebpf) -> Result<&mut SchedClassifier, DataplaneError> {
    ebpf.program_mut(TC_PROGRAM)
        .ok_or(DataplaneError::MissingProgram { name: TC_PROGRAM })?
        .try_into()
        .map_err(|source| DataplaneError::Program {
            name: TC_PROGRAM,
            source,
        })
}

/// Turns on forwarding for `iface` (IPv4, and IPv6 where the interface has it).
fn enable_forwarding(iface: &str) -> Result<(), DataplaneError> {
    if iface.contains('/') || iface.starts_with('.') {
        return Err(DataplaneError::BadInterface {
            iface: iface.to_owned(),
        });
    }
    for family in ["ipv4", "ipv6"] {
        let path = format!("/proc/sys/net/{family}/conf/{iface}/forwarding");
        match std::fs::write(&path, "1") {
            Ok(()) => {}
            // No IPv6 on this interface (disabled): nothing to route there.
            Err(e) if family == "ipv6" && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DataplaneError::Sysctl { path, source }),
        }
    }
    Ok(())
}
