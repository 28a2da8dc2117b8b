//! `cargo xtask test`: the one command that runs every test, locally and in CI.
//!
//! setup → `cargo fmt --check` → `cargo clippy -D warnings` → the tests (cargo-nextest when
//! present, else `cargo test`) → removal of any namespace, pin or PostgreSQL test server a test
//! left behind.

use anyhow::bail;

use crate::{
    setup,
    shell::{self, cargo, step},
};

#[derive(clap::Args)]
pub struct Args {
    /// Skip the format and lint checks (for a quick local run).
    #[arg(long)]
    no_lint: bool,
    /// Arguments passed on to the test runner, e.g. a test name filter.
    #[arg(last = true, value_name = "RUNNER ARGS")]
    runner_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let under_ci = lb_testkit::root::under_ci();
    if !shell::is_root() {
        if under_ci {
            bail!("CI must run the tests as root: network namespaces and BPF need it");
        }
        step("not root: tests that need network namespaces or BPF will say SKIPPED");
    }
    setup::run(&setup::Args::default())?;
    if !args.no_lint {
        step("checking formatting");
        shell::run(cargo().args(["fmt", "--all", "--", "--check"]))?;
        step("linting");
        shell::run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    }
    let result = run_tests(&args.runner_args);
    // Only what dead processes left: another suite running at the same time (a developer's
    // subset while the full suite runs) keeps its namespaces and pins.
    let (netns, pins) = lb_testkit::sweep::dead_leftovers();
    if !netns.is_empty() || !pins.is_empty() {
        step(&format!(
            "removing what tests left behind: {} namespaces, {} pin dirs ({netns:?} {pins:?})",
            netns.len(),
            pins.len()
        ));
        lb_testkit::sweep::sweep(true);
    }
    lb_testkit::sweep::unmount_bpffs();
    let servers = crate::pg_sweep::leftovers();
    if !servers.is_empty() {
        step(&format!(
            "stopping {} PostgreSQL test servers left behind: {servers:?}",
            servers.len()
        ));
        crate::pg_sweep::sweep(&servers);
    }
    result
}

fn run_tests(extra: &[String]) -> anyhow::Result<()> {
    let nextest = shell::capture(cargo().args(["nextest", "--version"])).is_ok();
    if nextest {
        step("running the tests with cargo-nextest");
        shell::run(
            cargo()
                .args(["nextest", "run", "--no-fail-fast"])
                .args(extra),
        )
    } else {
        step("running the tests with cargo test (cargo-nextest not installed)");
        shell::run(cargo().args(["test", "--no-fail-fast"]).args(extra))
    }
}
