//! `cargo xtask bench`: builds lb-bench in release mode and runs it (as root), then removes any
//! namespace it left behind.

use anyhow::bail;

use crate::{
    setup,
    shell::{self, cargo, step},
};

#[derive(clap::Args)]
pub struct Args {
    /// Fewer samples: a quick look, not figures to compare.
    #[arg(long)]
    quick: bool,
    /// Run only these parts: testrun, live, cps, http (repeatable; default: all; the test-run
    /// figures are always measured, every ratio needs them).
    #[arg(long, value_name = "PART")]
    only: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if !shell::is_root() {
        bail!(
            "the benchmarks need root (BPF, network namespaces): run `sudo -E cargo xtask bench`"
        );
    }
    setup::run(&setup::Args::default())?;
    step("building and running lb-bench (release)");
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "lb-bench", "--"]);
    if args.quick {
        cmd.arg("--quick");
    }
    for part in &args.only {
        cmd.args(["--only", part]);
    }
    let result = shell::run(&mut cmd);
    // What the benchmark's (dead) process left; a test suite running meanwhile keeps its own.
    lb_testkit::sweep::sweep(true);
    result
}
