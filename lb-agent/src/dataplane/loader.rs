//! Loads the embedded eBPF object, verifies it in the kernel and attaches the XDP entry point.
//!
//! A [`Dataplane`] owns the loaded programs, maps and links: dropping it detaches XDP from every
//! interface it was attached to and frees the maps (nothing is pinned yet).

use std::fmt;

use aya::{
    Ebpf, EbpfLoader,
    programs::{Xdp, XdpMode},
};
use lb_common::maps::XDP_PROGRAM;

use super::EBPF_OBJECT;
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
        let program = xdp_program(&mut ebpf)?;
        program.load().map_err(|source| DataplaneError::Program {
            name: XDP_PROGRAM,
            source,
        })?;
        Ok(Self {
            ebpf,
            attached: Vec::new(),
        })
    }

    /// Attaches the XDP entry point to `iface` (resolved in the calling thread's network
    /// namespace). Returns the mode actually used.
    pub fn attach(&mut self, iface: &str, mode: AttachMode) -> Result<AttachMode, DataplaneError> {
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
    ebpf.program_mut(XDP_PROGRAM)
        .ok_or(DataplaneError::MissingProgram { name: XDP_PROGRAM })?
        .try_into()
        .map_err(|source| DataplaneError::Program {
            name: XDP_PROGRAM,
            source,
        })
}
