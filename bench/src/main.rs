//! `lb-bench` (run it with `cargo xtask bench`, as root): measures the data plane and writes
//! `target/bench/report.md` and `target/bench/report.json`. Every figure is min/median/max over
//! samples, and every comparison is a ratio against a floor measured in the same run.

mod live;
mod report;
mod setup;
mod stats;
mod testrun;

use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use clap::Parser;

/// Data-plane benchmarks: BPF_PROG_TEST_RUN cost per packet against an XDP_PASS floor, and
/// the live packet rate through a veth against an XDP_TX floor.
///
/// Not measured yet (reported as null): TCP connections/s against HAProxy.
#[derive(Parser)]
#[command(about, long_about)]
struct Cli {
    /// Directory for report.md and report.json.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Fewer samples and frames: a quick look, not figures to compare.
    #[arg(long)]
    quick: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ensure!(
        lb_testkit::root::is_root(),
        "the benchmarks need root (BPF, network namespaces)"
    );
    let quick = cli.quick;
    let bench = setup::Bench::new();
    eprintln!("[bench] BPF_PROG_TEST_RUN: ns per packet ...");
    let testrun = testrun::run(
        &bench,
        &testrun::Effort {
            samples: if quick { 3 } else { 7 },
            repeat: if quick { 20_000 } else { 200_000 },
            new_flows_per_sample: if quick { 50 } else { 200 },
        },
    )
    .context("BPF_PROG_TEST_RUN benchmark")?;
    eprintln!("[bench] live frames through veth: packet rate ...");
    let live = live::run(
        &bench,
        &live::Effort {
            samples: if quick { 2 } else { 5 },
            frames: if quick { 200_000 } else { 2_000_000 },
            flows: 10_000,
        },
    )
    .context("live packet-rate benchmark")?;
    drop(bench);
    let report = report::Report {
        testrun_ns: testrun,
        live_mpps: Some(live),
        tcp_cps: report::TcpCps::not_measured(),
    };
    report.write(&cli.out)?;
    println!("{}", report.markdown());
    eprintln!(
        "[bench] wrote {}/report.md and report.json",
        cli.out.display()
    );
    Ok(())
}
