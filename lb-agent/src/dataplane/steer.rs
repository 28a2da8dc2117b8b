//! The `sk_lookup` steering of the object (`lb_steer`): one socket serving connections to many
//! VIP:port, found through `LB_STEER`. The agent binds a socket per proxied listener instead
//! (`proxy::listen`, `docs/proxy.md`); this is what the benchmark measures that choice against.

use std::{
    net::SocketAddr,
    os::fd::{AsFd, AsRawFd},
};

use aya::{
    maps::{HashMap, SockMap},
    programs::{SkLookup, sk_lookup::SkLookupLinkId},
};
use lb_common::{
    maps::{STEER, STEER_PROGRAM, STEER_SOCKS},
    vip::VipKey,
};

use super::loader::Dataplane;
use crate::DataplaneError;

impl Dataplane {
    fn steer_program(&mut self) -> Result<&mut SkLookup, DataplaneError> {
        self.ebpf
            .program_mut(STEER_PROGRAM)
            .ok_or(DataplaneError::MissingProgram {
                name: STEER_PROGRAM,
            })?
            .try_into()
            .map_err(|source| DataplaneError::Program {
                name: STEER_PROGRAM,
                source,
            })
    }

    /// Loads `lb_steer` (once) and attaches it to the network namespace `netns` (an open
    /// `/proc/…/ns/net` or `/run/netns/…`): from then on its lookups go through `LB_STEER`.
    pub fn attach_steer(&mut self, netns: impl AsFd) -> Result<SkLookupLinkId, DataplaneError> {
        let program = self.steer_program()?;
        if program.fd().is_err() {
            program.load().map_err(|source| DataplaneError::Program {
                name: STEER_PROGRAM,
                source,
            })?;
        }
        program
            .attach(netns)
            .map_err(|source| DataplaneError::Program {
                name: STEER_PROGRAM,
                source,
            })
    }

    /// Detaches `lb_steer` from the namespace of `link`.
    pub fn detach_steer(&mut self, link: SkLookupLinkId) -> Result<(), DataplaneError> {
        self.steer_program()?
            .detach(link)
            .map_err(|source| DataplaneError::Program {
                name: STEER_PROGRAM,
                source,
            })
    }

    /// Accumulated run time and run count of `lb_steer` while run-time statistics are on
    /// (`aya::sys::enable_stats`): what the program costs per lookup.
    pub fn steer_run_stats(&mut self) -> Result<(std::time::Duration, u64), DataplaneError> {
        let info = self
            .steer_program()?
            .info()
            .map_err(|source| DataplaneError::Program {
                name: STEER_PROGRAM,
                source,
            })?;
        Ok((info.run_time(), info.run_count()))
    }

    /// Puts a listening (TCP) or bound (UDP) socket at `index` of `LB_STEER_SOCKS`.
    pub fn set_steer_socket(
        &mut self,
        index: u32,
        socket: &impl AsRawFd,
    ) -> Result<(), DataplaneError> {
        let map_err = |source| DataplaneError::Map {
            name: STEER_SOCKS,
            source,
        };
        let map = self
            .ebpf
            .map_mut(STEER_SOCKS)
            .ok_or(DataplaneError::MissingMap { name: STEER_SOCKS })?;
        SockMap::try_from(map)
            .map_err(map_err)?
            .set(index, socket, 0)
            .map_err(map_err)
    }

    /// Hands TCP connections to `addr` to the socket at `index` of `LB_STEER_SOCKS`.
    pub fn steer(&mut self, addr: SocketAddr, index: u32) -> Result<(), DataplaneError> {
        let (vip, family) = super::plan::map_addr(addr.ip());
        let key = VipKey {
            addr: vip,
            port: addr.port().to_be(),
            proto: lb_common::addr::IPPROTO_TCP,
            family,
        };
        let map_err = |source| DataplaneError::Map {
            name: STEER,
            source,
        };
        let map = self
            .ebpf
            .map_mut(STEER)
            .ok_or(DataplaneError::MissingMap { name: STEER })?;
        let mut steer: HashMap<_, VipKey, u32> = HashMap::try_from(map).map_err(map_err)?;
        steer.insert(key, index, 0).map_err(map_err)
    }
}
