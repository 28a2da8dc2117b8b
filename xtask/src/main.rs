//! Project tasks: `setup` installs what a fresh machine lacks, `test` runs every test, `run`
//! starts the service. `cargo xtask <task> --help` documents each.

mod bench;
mod demo;
mod pg_sweep;
mod run;
mod setup;
mod shell;
mod test;
mod venvs;

use clap::{Parser, Subcommand};

/// Project tasks for the XDP load balancer.
#[derive(Parser)]
#[command(about, long_about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building and testing need: the rust-src component, a bpf-linker built
    /// against this toolchain's own LLVM, and the Debian packages the tests use. Idempotent;
    /// takes a few seconds when everything is present.
    Setup(setup::Args),
    /// Run the whole test suite (setup first, then format and lint checks, then every test,
    /// then removal of anything a test left behind). Network and BPF tests need root.
    Test(test::Args),
    /// Build and start the service in the foreground (setup first). Ctrl-C stops it.
    Run(run::Args),
    /// Run the data-plane benchmarks (root; setup first) and write target/bench/report.md and
    /// report.json. Figures are ratios against floors measured in the same run.
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Setup(args) => setup::run(&args),
        Task::Test(args) => test::run(&args),
        Task::Run(args) => run::run(&args),
        Task::Bench(args) => bench::run(&args),
    }
}
