//! Keeping the data plane alive across agent restarts: maps and program links pinned on bpffs.
//!
//! On start the agent compares every pinned map's layout (type, key size, value size, entries)
//! with the map the new object declares; equal maps are adopted (flows, counters and gauges
//! carry on), changed ones are unpinned and created anew. Links are pinned too, so a killed
//! agent leaves the programs attached; a restarted agent swaps its programs into the pinned
//! links atomically (`bpf_link_update`), without a moment of detachment.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use aya::{
    Ebpf,
    maps::{Map, MapData, MapInfo},
};

use crate::DataplaneError;

/// Default pin directory.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/lb";
/// Sub-directory of the pin directory holding the program links.
const LINKS: &str = "links";

/// What happened to each pinned map at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    /// Maps whose pins were reused.
    pub adopted: Vec<String>,
    /// Maps whose pins had another layout and were replaced.
    pub replaced: Vec<String>,
    /// Maps that had no pin yet.
    pub created: Vec<String>,
}

/// The layout that must match for a pin to be adopted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
}

impl Layout {
    fn of(info: &MapInfo) -> Result<Self, DataplaneError> {
        Ok(Self {
            map_type: info
                .map_type()
                .map(|t| t as u32)
                .map_err(|source| DataplaneError::Map {
                    name: "pinned map",
                    source,
                })?,
            key_size: info.key_size(),
            value_size: info.value_size(),
            max_entries: info.max_entries(),
        })
    }
}

fn map_data(map: &Map) -> Option<&MapData> {
    match map {
        Map::Array(d)
        | Map::HashMap(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::LpmTrie(d)
        | Map::SockMap(d) => Some(d),
        _ => None,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataplaneError + '_ {
    move |source| DataplaneError::Pin {
        path: path.to_path_buf(),
        source,
    }
}

/// bpffs's `f_type` (`BPF_FS_MAGIC`).
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Fails with the fix when `dir`'s nearest existing ancestor is not on bpffs.
fn check_bpffs(dir: &Path) -> Result<(), DataplaneError> {
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).map_err(|e| {
        DataplaneError::Pin {
            path: existing.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        }
    })?;
    // SAFETY: statfs with a valid C string and a zeroed out-parameter.
    let (rc, fs_type) = unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        (libc::statfs(c.as_ptr(), &raw mut st), st.f_type)
    };
    if rc != 0 || fs_type != BPF_FS_MAGIC {
        return Err(DataplaneError::NotBpffs {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Prepares `dir` (bpffs must be mounted) and returns the loader settings:
/// the pin path of every map, after removing pins whose layout differs from `object`'s.
pub fn prepare(
    dir: &Path,
    object: &[u8],
) -> Result<(BTreeMap<String, PathBuf>, Adoption), DataplaneError> {
    check_bpffs(dir)?;
    std::fs::create_dir_all(dir.join(LINKS)).map_err(io_err(dir))?;
    // Learn the object's layouts by creating its maps once, unpinned.
    let staging = super::loader::object_loader().load(object)?;
    let mut paths = BTreeMap::new();
    let mut adoption = Adoption::default();
    for (name, map) in staging.maps() {
        let path = dir.join(name);
        let wanted = map_data(map)
            .map(|d| {
                d.info().map_err(|source| DataplaneError::Map {
                    name: "new map",
                    source,
                })
            })
            .transpose()?
            .map(|i| Layout::of(&i))
            .transpose()?;
        if path.exists() {
            let pinned = MapInfo::from_pin(&path)
                .ok()
                .map(|i| Layout::of(&i))
                .transpose()?;
            if wanted.is_some() && pinned == wanted {
                adoption.adopted.push(name.to_owned());
            } else {
                tracing::warn!(
                    map = name,
                    ?pinned,
                    ?wanted,
                    "pinned map has another layout: replacing it"
                );
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                adoption.replaced.push(name.to_owned());
            }
        } else {
            adoption.created.push(name.to_owned());
        }
        paths.insert(name.to_owned(), path);
    }
    Ok((paths, adoption))
}

/// Loads `object` with every map pinned under the prepared paths.
pub fn load(object: &[u8], paths: &BTreeMap<String, PathBuf>) -> Result<Ebpf, DataplaneError> {
    let mut loader = super::loader::object_loader();
    for (name, path) in paths {
        loader.map_pin_path(name.as_str(), path.as_path());
    }
    Ok(loader.load(object)?)
}

/// Pin path of a program link on `iface` (`kind`: "xdp" or "tc").
#[must_use]
pub fn link_path(dir: &Path, kind: &str, iface: &str) -> PathBuf {
    dir.join(LINKS).join(format!("{kind}-{iface}"))
}

/// Removes the pin directory: unpins links (detaching the programs) and maps.
pub fn remove(dir: &Path) -> Result<(), DataplaneError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DataplaneError::Pin {
            path: dir.to_path_buf(),
            source,
        }),
    }
}
