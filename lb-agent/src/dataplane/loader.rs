//! Loads the embedded eBPF object, verifies it in the kernel and attaches its programs: XDP
//! `lb_xdp` plus the TC ingress companion `lb_tc_in` on the interfaces that carry balanced
//! traffic, and `lb_pass` where a veth peer must accept redirected frames.
//!
//! A [`Dataplane`] owns the loaded programs, maps and links: dropping it detaches everything it
//! attached and frees the maps (nothing is pinned yet).

use std::{
    fmt,
    path::{Path, PathBuf},
};

use aya::{
    Ebpf, EbpfLoader,
    programs::{
        SchedClassifier, TcAttachType, Xdp, XdpMode,
        links::{FdLink, PinnedLink},
        tc::SchedClassifierLink,
        xdp::{XdpLink, XdpLinkId},
    },
};
use lb_common::{
    flow_cache::{FLOW_CACHE_SETS, FLOW_CACHE6_ENTRIES},
    maps::{
        DROP_PROGRAM, FLOOR_REDIRECT, FLOW_CACHE, FLOW_CACHE6, FLOWS, NH_MARK, PASS_PROGRAM,
        REDIRECT_PROGRAM, SYN_FLOWS, TC_PROGRAM, TX_PROGRAM, XDP_PROGRAM,
    },
};

use super::{
    EBPF_OBJECT,
    pins::{self, Adoption},
    plan::{Plan, Planner},
};
use crate::DataplaneError;

/// How XDP is attached to an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// Where maps and links are pinned (`None`: nothing outlives this value).
    pin_dir: Option<PathBuf>,
}

/// A loader for the data-plane object, with the maps sized for this host: the flow cache gets
/// `FLOW_CACHE_SETS` sets (and `FLOW_CACHE6_ENTRIES` IPv6 entries) for each CPU up to the
/// highest online one (the object declares one CPU's worth). Not for every possible CPU: some
/// hosts declare hundreds for hotplug, 3 MiB each; a CPU brought online later finds no sets of
/// its own and takes the full path until the agent restarts.
pub fn object_loader() -> EbpfLoader<'static> {
    // Were the online CPUs unreadable, CPUs beyond the first would only find no cache.
    let cpus = aya::util::online_cpus()
        .ok()
        .and_then(|online| online.into_iter().max())
        .map_or(1, |highest| highest.saturating_add(1));
    let mut loader = EbpfLoader::new();
    loader.map_max_entries(FLOW_CACHE, FLOW_CACHE_SETS.saturating_mul(cpus));
    loader.map_max_entries(FLOW_CACHE6, FLOW_CACHE6_ENTRIES.saturating_mul(cpus));
    loader
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
        Self::with_ebpf(object_loader().load(object)?, None)
    }

    /// Loads the embedded object (unpinned) with flow tables of the given sizes instead of
    /// the defaults (`FLOWS_SIZE`, `SYN_FLOWS_SIZE`): tests that fill them use small ones.
    pub fn load_with_flow_tables(flows: u32, syn_flows: u32) -> Result<Self, DataplaneError> {
        if EBPF_OBJECT.is_empty() {
            return Err(DataplaneError::EmptyObject);
        }
        let ebpf = object_loader()
            .map_max_entries(FLOWS, flows)
            .map_max_entries(SYN_FLOWS, syn_flows)
            .load(EBPF_OBJECT)?;
        Self::with_ebpf(ebpf, None)
    }

    /// Loads the embedded object with its maps and links pinned under `dir`, adopting the pins
    /// a previous agent left there when their layout matches (see [`pins`]). The data plane
    /// then outlives this process: an agent killed with -9 leaves it balancing, and the next
    /// one takes over its flows. [`pins::remove`] takes it down.
    pub fn load_pinned(dir: &Path) -> Result<(Self, Adoption), DataplaneError> {
        if EBPF_OBJECT.is_empty() {
            return Err(DataplaneError::EmptyObject);
        }
        let (paths, adoption) = pins::prepare(dir, EBPF_OBJECT)?;
        let ebpf = pins::load(EBPF_OBJECT, &paths)?;
        Ok((Self::with_ebpf(ebpf, Some(dir.to_path_buf()))?, adoption))
    }

    fn with_ebpf(mut ebpf: Ebpf, pin_dir: Option<PathBuf>) -> Result<Self, DataplaneError> {
        set_nh_mark_secret(&mut ebpf)?;
        for name in [
            XDP_PROGRAM,
            PASS_PROGRAM,
            TX_PROGRAM,
            DROP_PROGRAM,
            REDIRECT_PROGRAM,
        ] {
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
            pin_dir,
        })
    }

    /// Attaches `lb_pass` (XDP_PASS) to `iface`: a veth only delivers frames redirected into it
    /// when its peer runs an XDP program (or has GRO on), so the peers of balanced veth links
    /// need this or GRO.
    pub fn attach_pass(&mut self, iface: &str) -> Result<(), DataplaneError> {
        self.attach_floor(PASS_PROGRAM, iface)
    }

    /// Accumulated run time and run count of one of the object's XDP programs, as the kernel
    /// keeps them while run-time statistics are enabled (`aya::sys::enable_stats`): the
    /// benchmark's per-frame cost of a program in live traffic.
    pub fn program_run_stats(
        &mut self,
        name: &'static str,
    ) -> Result<(std::time::Duration, u64), DataplaneError> {
        let info = xdp_named(&mut self.ebpf, name)?
            .info()
            .map_err(|source| DataplaneError::Program { name, source })?;
        Ok((info.run_time(), info.run_count()))
    }

    /// Sets the interface `lb_redirect` (the benchmark's redirect floor) sends to.
    pub fn set_floor_redirect(&mut self, ifindex: u32) -> Result<(), DataplaneError> {
        let map = self
            .ebpf
            .map_mut(FLOOR_REDIRECT)
            .ok_or(DataplaneError::MissingMap {
                name: FLOOR_REDIRECT,
            })?;
        let mut array: aya::maps::Array<_, u32> =
            aya::maps::Array::try_from(map).map_err(|source| DataplaneError::Map {
                name: FLOOR_REDIRECT,
                source,
            })?;
        array
            .set(0, ifindex, 0)
            .map_err(|source| DataplaneError::Map {
                name: FLOOR_REDIRECT,
                source,
            })
    }

    /// Attaches one of the object's trivial XDP programs (`lb_pass`, `lb_tx`, `lb_drop`,
    /// `lb_redirect`) to `iface` in native mode, e.g. as a benchmark floor. Detached when
    /// `self` is dropped.
    pub fn attach_floor(
        &mut self,
        program: &'static str,
        iface: &str,
    ) -> Result<(), DataplaneError> {
        if ![PASS_PROGRAM, TX_PROGRAM, DROP_PROGRAM, REDIRECT_PROGRAM].contains(&program) {
            return Err(DataplaneError::MissingProgram { name: program });
        }
        xdp_named(&mut self.ebpf, program)?
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
        let Some(dir) = self.pin_dir.clone() else {
            let (used, _) = self.attach_xdp(iface, mode)?;
            self.attach_tc(iface)?;
            return Ok(used);
        };
        // Pinned: swap into the links a previous agent left, or attach and pin new ones.
        let xdp_path = pins::link_path(&dir, "xdp", iface);
        let used = if xdp_path.exists() {
            let link = XdpLink::try_from(FdLink::from(pinned_link(&xdp_path)?))
                .map_err(|e| link_err(&xdp_path, e))?;
            xdp_program(&mut self.ebpf)?
                .attach_to_link(link)
                .map_err(|source| DataplaneError::Program {
                    name: XDP_PROGRAM,
                    source,
                })?;
            tracing::info!(%iface, "adopted the pinned XDP link");
            self.attached.push((iface.to_owned(), mode));
            mode
        } else {
            let (used, id) = self.attach_xdp(iface, mode)?;
            let link = xdp_program(&mut self.ebpf)?
                .take_link(id)
                .map_err(|source| DataplaneError::Program {
                    name: XDP_PROGRAM,
                    source,
                })?;
            pin_link(
                FdLink::try_from(link).map_err(|e| link_err(&xdp_path, e))?,
                &xdp_path,
            )?;
            used
        };
        let tc_path = pins::link_path(&dir, "tc", iface);
        let program = tc_program(&mut self.ebpf)?;
        if tc_path.exists() {
            let link = SchedClassifierLink::try_from(FdLink::from(pinned_link(&tc_path)?))
                .map_err(|e| link_err(&tc_path, e))?;
            program
                .attach_to_link(link)
                .map_err(|source| DataplaneError::Program {
                    name: TC_PROGRAM,
                    source,
                })?;
        } else {
            let id = program
                .attach(iface, TcAttachType::Ingress)
                .map_err(|source| DataplaneError::Attach {
                    iface: iface.to_owned(),
                    mode: "tc ingress",
                    source,
                })?;
            let link = program
                .take_link(id)
                .map_err(|source| DataplaneError::Program {
                    name: TC_PROGRAM,
                    source,
                })?;
            pin_link(
                FdLink::try_from(link).map_err(|e| link_err(&tc_path, e))?,
                &tc_path,
            )?;
        }
        Ok(used)
    }

    fn attach_tc(&mut self, iface: &str) -> Result<(), DataplaneError> {
        tc_program(&mut self.ebpf)?
            .attach(iface, TcAttachType::Ingress)
            .map_err(|source| DataplaneError::Attach {
                iface: iface.to_owned(),
                mode: "tc ingress",
                source,
            })?;
        Ok(())
    }

    fn attach_xdp(
        &mut self,
        iface: &str,
        mode: AttachMode,
    ) -> Result<(AttachMode, XdpLinkId), DataplaneError> {
        let program = xdp_program(&mut self.ebpf)?;
        let attempt = |program: &mut Xdp, used: AttachMode| {
            let xdp_mode = match used {
                AttachMode::Generic => XdpMode::Skb,
                AttachMode::Native | AttachMode::Auto => XdpMode::Driver,
            };
            program
                .attach(iface, xdp_mode)
                .map(|link| (used, link))
                .map_err(|source| DataplaneError::Attach {
                    iface: iface.to_owned(),
                    mode: match used {
                        AttachMode::Generic => "generic",
                        AttachMode::Native | AttachMode::Auto => "native",
                    },
                    source,
                })
        };
        let (used, link) = match mode {
            AttachMode::Auto => match attempt(program, AttachMode::Native) {
                Ok(done) => done,
                Err(native) => {
                    tracing::warn!(%iface, error = %native, "native XDP refused; using generic");
                    attempt(program, AttachMode::Generic)?
                }
            },
            other => attempt(program, other)?,
        };
        self.attached.push((iface.to_owned(), used));
        Ok((used, link))
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

pub(crate) fn xdp_named<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut Xdp, DataplaneError> {
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

fn pinned_link(path: &Path) -> Result<PinnedLink, DataplaneError> {
    PinnedLink::from_pin(path).map_err(|e| link_err(path, e))
}

fn pin_link(link: FdLink, path: &Path) -> Result<(), DataplaneError> {
    // Dropping the returned PinnedLink closes our fd; the pin keeps the link attached.
    link.pin(path).map(drop).map_err(|e| link_err(path, e))
}

fn link_err(path: &Path, e: impl fmt::Display) -> DataplaneError {
    DataplaneError::PinnedLink {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Gives the next-hop mark (`lb_common::nh_mark`) its secret: 56 random bits, chosen once; an
/// adopted pinned map keeps the secret it has, so packets in flight across a restart still
/// carry a valid mark.
fn set_nh_mark_secret(ebpf: &mut Ebpf) -> Result<(), DataplaneError> {
    use std::io::Read as _;
    let map_err = |source| DataplaneError::Map {
        name: NH_MARK,
        source,
    };
    let map = ebpf
        .map_mut(NH_MARK)
        .ok_or(DataplaneError::MissingMap { name: NH_MARK })?;
    let mut array: aya::maps::Array<_, u64> = aya::maps::Array::try_from(map).map_err(map_err)?;
    if array.get(&0, 0).map_err(map_err)? & lb_common::nh_mark::SECRET_MASK != 0 {
        return Ok(());
    }
    let mut secret = 0;
    while secret & lb_common::nh_mark::SECRET_MASK == 0 {
        let mut bytes = [0u8; 8];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(DataplaneError::Random)?;
        secret = u64::from_le_bytes(bytes);
    }
    array.set(0, secret, 0).map_err(map_err)
}
