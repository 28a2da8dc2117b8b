//! Builds `lb-ebpf` for `bpfel-unknown-none` (cargo-in-cargo, as aya-build does, but quiet:
//! the nested build's log is shown only when it fails) and leaves the object in `OUT_DIR` for
//! the agent to embed. Fails with the exact command to run when toolchain pieces are missing.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

const EBPF_PACKAGE: &str = "lb-ebpf";
/// The benchmark generator, a second binary of the same package.
const GEN_BIN: &str = "lb-gen";
const BPF_TARGET: &str = "bpfel-unknown-none";
const SETUP_HINT: &str = "run `cargo xtask setup` (it installs rust-src and a bpf-linker built \
                          against this toolchain's LLVM), then build again";

fn main() -> anyhow::Result<()> {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    let object = out_dir.join(EBPF_PACKAGE);
    println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
    if env::var_os("AYA_BUILD_SKIP").is_some_and(|v| v == "1" || v == "true") {
        // Escape hatch for `cargo check`/docs on machines without the eBPF toolchain: the agent
        // embeds an empty object and `Dataplane::load` says how to get a real one.
        std::fs::write(&object, [])?;
        std::fs::write(out_dir.join(GEN_BIN), [])?;
        return Ok(());
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").context("no manifest dir")?);
    let ebpf_dir = manifest_dir
        .parent()
        .context("lb-agent has no parent directory")?
        .join(EBPF_PACKAGE);
    println!("cargo:rerun-if-changed={}", ebpf_dir.display());

    check_toolchain()?;
    build(&ebpf_dir, &out_dir)?;
    for bin in [EBPF_PACKAGE, GEN_BIN] {
        let built = out_dir
            .join("ebpf-target")
            .join(BPF_TARGET)
            .join("release")
            .join(bin);
        let to = out_dir.join(bin);
        std::fs::copy(&built, &to)
            .with_context(|| format!("copying {} to {}", built.display(), to.display()))?;
    }
    Ok(())
}

fn build(ebpf_dir: &Path, out_dir: &Path) -> anyhow::Result<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let arch = env::var("CARGO_CFG_TARGET_ARCH").context("CARGO_CFG_TARGET_ARCH not set")?;
    // Same flags as aya-build: the target arch for aya-ebpf's helpers, BTF for the loader.
    let rustflags = [
        format!("--cfg=bpf_target_arch=\"{arch}\""),
        "-Cdebuginfo=2".to_owned(),
        "-Clink-arg=--btf".to_owned(),
    ]
    .join("\x1f");
    let output = Command::new(&cargo)
        .current_dir(ebpf_dir)
        .args(["build", "--package", EBPF_PACKAGE, "--bins", "--release"])
        .args([
            "--target",
            BPF_TARGET,
            "-Z",
            "build-std=core",
            "--color",
            "never",
        ])
        .arg("--target-dir")
        .arg(out_dir.join("ebpf-target"))
        // The BPF target is tier 3: `core` is built from source, which stable cargo allows only
        // with RUSTC_BOOTSTRAP=1. Set here, it reaches only this nested build of lb-ebpf.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        bail!(
            "building {EBPF_PACKAGE} for {BPF_TARGET} failed ({}).\n{}\nIf a tool is missing: {SETUP_HINT}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Checks for rust-src and bpf-linker before the nested build hides the cause in a long log.
fn check_toolchain() -> anyhow::Result<()> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .with_context(|| format!("running `{rustc} --print sysroot`"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let core_src = sysroot.join("lib/rustlib/src/rust/library/core");
    if !core_src.is_dir() {
        bail!(
            "the rust-src component is missing ({} does not exist): {SETUP_HINT}",
            core_src.display()
        );
    }
    if !on_path("bpf-linker") {
        bail!("bpf-linker is not on PATH: {SETUP_HINT}");
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| is_executable(&dir.join(program))))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
