//! `cargo xtask setup`: makes a fresh machine able to build and test the project.
//!
//! 1. `rust-src` (the BPF target is tier 3; `core` is built from source).
//! 2. `bpf-linker`, linked dynamically against the toolchain's own libLLVM so that both use the
//!    same LLVM major version; the version and the library file are read from the toolchain.
//! 3. Debian packages used by the tests and the demo.
//!
//! Each step checks first and does nothing when the piece is there.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use crate::{
    shell::{self, capture, step},
    venvs,
};

/// Debian packages the tests and tasks use, with a program each provides (checked first).
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("iproute2", "ip"),
    ("procps", "sysctl"),
    // Test topologies turn off veth checksum offload (see lb-testkit's Netns::no_offload).
    ("ethtool", "ethtool"),
    // lb-api's store tests and CLI cookbook start a private PostgreSQL server. Debian keeps
    // `postgres`/`initdb` off PATH (in /usr/lib/postgresql/<major>/bin), so the package
    // status decides.
    ("postgresql", "postgres"),
    // `cargo xtask bench` compares the data plane's TCP connection rate and the proxy's HTTP
    // request rate with HAProxy's; wrk drives the HTTP figure.
    ("haproxy", "haproxy"),
    ("wrk", "wrk"),
    // lb-api's keystone_auth test talks to Keystone and lb-api with curl.
    ("curl", "curl"),
    // The TLS handshake benchmark makes its RSA 2048 key with it (ring cannot make RSA keys).
    ("openssl", "openssl"),
];

#[derive(clap::Args, Default)]
pub struct Args {
    /// Only report what is missing; install nothing (exit status 1 if something is missing).
    #[arg(long)]
    check: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let toolchain = Toolchain::detect()?;
    let mut missing = Vec::new();
    if !toolchain.has_rust_src() {
        missing.push("rust-src");
        if !args.check {
            install_rust_src()?;
        }
    }
    if !toolchain.bpf_linker_ok() {
        missing.push("bpf-linker");
        if !args.check {
            install_bpf_linker(&toolchain)?;
        }
    }
    if !oscli_ok() {
        missing.push("openstack CLI venv");
        if !args.check {
            install_oscli()?;
        }
    }
    let cache = cache_dir()?;
    for venv in [&venvs::KEYSTONE, &venvs::OCTAVIA] {
        if !venv.ok(&cache) {
            missing.push(venv.name);
            if !args.check {
                venv.install(&cache)?;
            }
        }
    }
    let packages = missing_packages();
    if !packages.is_empty() {
        missing.push("debian packages");
        if !args.check {
            install_packages(&packages)?;
        }
    }
    if args.check && !missing.is_empty() {
        bail!("missing: {} (run `cargo xtask setup`)", missing.join(", "));
    }
    if missing.is_empty() {
        step(&format!(
            "setup: everything present (LLVM {}, rust-src, bpf-linker, {} packages) in {:.1} s",
            toolchain.llvm_major,
            DEBIAN_PACKAGES.len(),
            started.elapsed().as_secs_f64()
        ));
    } else {
        step(&format!(
            "setup: installed {} in {:.0} s",
            missing.join(", "),
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Facts read off the active Rust toolchain.
struct Toolchain {
    sysroot: PathBuf,
    llvm_major: u32,
    /// The toolchain's shared libLLVM, e.g. `libLLVM.so.22.1-rust-1.95.0-stable`.
    libllvm: PathBuf,
}

impl Toolchain {
    fn detect() -> anyhow::Result<Self> {
        let sysroot =
            PathBuf::from(capture(Command::new("rustc").args(["--print", "sysroot"]))?.trim());
        let version = capture(Command::new("rustc").arg("-vV"))?;
        let llvm = version
            .lines()
            .find_map(|l| l.strip_prefix("LLVM version: "))
            .context("`rustc -vV` reports no LLVM version")?;
        let llvm_major: u32 = llvm
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .with_context(|| format!("cannot read LLVM major version from {llvm:?}"))?;
        let libllvm = find_libllvm(&sysroot.join("lib"), llvm_major)?;
        Ok(Self {
            sysroot,
            llvm_major,
            libllvm,
        })
    }

    fn has_rust_src(&self) -> bool {
        self.sysroot
            .join("lib/rustlib/src/rust/library/core")
            .is_dir()
    }

    /// bpf-linker is on PATH, starts, and is linked against this toolchain's libLLVM.
    fn bpf_linker_ok(&self) -> bool {
        let Some(path) = which("bpf-linker") else {
            return false;
        };
        let Some(lib_name) = self.libllvm.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        let linked = capture(Command::new("ldd").arg(&path)).is_ok_and(|o| o.contains(lib_name));
        let starts = Command::new(&path)
            .arg("--version")
            .env("LD_LIBRARY_PATH", self.sysroot.join("lib"))
            .output()
            .is_ok_and(|o| o.status.success());
        linked && starts
    }
}

/// The toolchain's shared libLLVM: `libLLVM.so.<major>.*` (or `libLLVM-<major>*.so`).
fn find_libllvm(libdir: &Path, major: u32) -> anyhow::Result<PathBuf> {
    let entries =
        std::fs::read_dir(libdir).with_context(|| format!("reading {}", libdir.display()))?;
    let mut candidates: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("libLLVM.so.{major}."))
                    || (n.starts_with(&format!("libLLVM-{major}")) && n.ends_with(".so"))
            })
        })
        .collect();
    candidates.sort();
    // Prefer the versioned soname: it is the name binaries record as NEEDED.
    candidates
        .iter()
        .find(|p| p.to_string_lossy().contains("libLLVM.so."))
        .or_else(|| candidates.first())
        .cloned()
        .with_context(|| {
            format!(
                "no shared libLLVM {major} in {}: this toolchain cannot host bpf-linker",
                libdir.display()
            )
        })
}

fn which(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .chain(home().map(|h| h.join(".cargo/bin").join(program)))
        .find(|p| p.is_file())
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn cache_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(base.join("lb-xtask"))
}

fn install_rust_src() -> anyhow::Result<()> {
    step("installing the rust-src component (the BPF target builds `core` from source)");
    shell::run(Command::new("rustup").args(["component", "add", "rust-src"]))
}

fn install_bpf_linker(toolchain: &Toolchain) -> anyhow::Result<()> {
    // llvm-sys links against $LLVM_PREFIX/lib/libLLVM.so: point that at the toolchain's own.
    let prefix = cache_dir()?.join(format!("llvm-{}", toolchain.llvm_major));
    let lib = prefix.join("lib");
    std::fs::create_dir_all(&lib).with_context(|| format!("creating {}", lib.display()))?;
    let link = lib.join("libLLVM.so");
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link).with_context(|| format!("removing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(&toolchain.libllvm, &link)
        .with_context(|| format!("linking {}", link.display()))?;
    step(&format!(
        "installing bpf-linker against {} (LLVM {}); this compiles for about 2 minutes",
        toolchain.libllvm.display(),
        toolchain.llvm_major
    ));
    shell::run(
        Command::new("cargo")
            .args(["install", "bpf-linker", "--force", "--no-default-features"])
            .args(["--features", &format!("llvm-{}", toolchain.llvm_major)])
            .env("LLVM_PREFIX", &prefix),
    )?;
    if !toolchain.bpf_linker_ok() {
        bail!(
            "bpf-linker was installed but does not run against {}",
            toolchain.libllvm.display()
        );
    }
    Ok(())
}

/// The real `openstack` CLI the API tests drive, pinned (see ../shared/openstack-cli.md).
const OSCLI_PACKAGES: [&str; 2] = [
    "python-openstackclient==10.5.0",
    "python-octaviaclient==3.15.0",
];

/// Where the CLI's venv lives: `$XDG_CACHE_HOME/lb-xtask/oscli` (the tests look there too).
pub fn oscli_dir() -> anyhow::Result<PathBuf> {
    Ok(cache_dir()?.join("oscli"))
}

fn oscli_ok() -> bool {
    let Ok(dir) = oscli_dir() else {
        return false;
    };
    Command::new(dir.join("bin/openstack"))
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("10.5.0"))
}

fn install_oscli() -> anyhow::Result<()> {
    venvs::make(
        "the openstack CLI",
        &oscli_dir()?,
        &OSCLI_PACKAGES,
        "about 30 s",
    )
}

fn missing_packages() -> Vec<&'static str> {
    DEBIAN_PACKAGES
        .iter()
        .filter(|(package, program)| {
            !shell::on_path(program)
                && !Command::new("dpkg-query")
                    .args(["-W", "-f=${Status}", package])
                    .output()
                    .is_ok_and(|o| {
                        String::from_utf8_lossy(&o.stdout).contains("install ok installed")
                    })
        })
        .map(|(package, _)| *package)
        .collect()
}

fn install_packages(packages: &[&str]) -> anyhow::Result<()> {
    if !shell::is_root() {
        bail!(
            "Debian packages missing: {}; run `cargo xtask setup` as root or `sudo apt-get install {}`",
            packages.join(" "),
            packages.join(" ")
        );
    }
    step(&format!(
        "installing Debian packages: {}",
        packages.join(" ")
    ));
    shell::run(Command::new("apt-get").args(["update", "-q"]))?;
    shell::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libdir(files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-libllvm-{}-{}",
            std::process::id(),
            files.join("+").len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        dir
    }

    #[test]
    fn finds_the_versioned_soname_of_the_right_major() {
        let dir = libdir(&[
            "libLLVM-22-rust-1.95.0-stable.so",
            "libLLVM.so.22.1-rust-1.95.0-stable",
            "libLLVM.so.21.1-rust-1.90.0-stable",
            "librustc_driver-abc.so",
        ]);
        let found = find_libllvm(&dir, 22).unwrap();
        assert_eq!(
            found.file_name().unwrap(),
            "libLLVM.so.22.1-rust-1.95.0-stable"
        );
        assert!(find_libllvm(&dir, 23).is_err(), "no LLVM 23 there");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
