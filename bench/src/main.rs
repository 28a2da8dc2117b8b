//! `lb-bench` (run it with `cargo xtask bench`, as root): measures the data plane and writes
//! `target/bench/report.md` and `target/bench/report.json`. Every figure is min/median/max over
//! samples, and every comparison is a ratio against a floor measured in the same run.

mod cps;
mod http;
mod live;
mod report;
mod setup;
mod stats;
mod steer;
mod testrun;

use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use clap::Parser;

/// Data-plane benchmarks: BPF_PROG_TEST_RUN cost per packet against an XDP_PASS floor, the
/// live packet rate through a veth against an XDP_TX floor, TCP connections/s through the VIP
/// against HAProxy in TCP mode on the same topology, and HTTP requests/s (keep-alive, wrk)
/// through the agent's L7 proxy against HAProxy in HTTP mode, and the two ways of steering
/// connections to the proxy (a socket per VIP, sk_lookup).
#[derive(Parser)]
#[command(about, long_about)]
struct Cli {
    /// Directory for report.md and report.json.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Fewer samples and frames: a quick look, not figures to compare.
    #[arg(long)]
    quick: bool,
    /// Run only these parts (repeatable; default: all). The test-run figures are always
    /// measured, as every ratio of the report needs them.
    #[arg(long, value_enum)]
    only: Vec<Part>,
}

/// The parts of the benchmark that `--only` selects.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// BPF_PROG_TEST_RUN ns per packet.
    Testrun,
    /// Live frames through a veth.
    Live,
    /// TCP connections/s against HAProxy.
    Cps,
    /// HTTP requests/s (keep-alive, wrk) through the agent's proxy against HAProxy.
    Http,
    /// Steering of proxied listeners: a socket per VIP against one socket and sk_lookup.
    Steer,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ensure!(
        lb_testkit::root::is_root(),
        "the benchmarks need root (BPF, network namespaces)"
    );
    let quick = cli.quick;
    let wanted = |part: Part| cli.only.is_empty() || cli.only.contains(&part);
    let bench = setup::Bench::new();
    eprintln!("[bench] BPF_PROG_TEST_RUN: ns per packet ...");
    let testrun = testrun::run(
        &bench,
        &testrun::Effort {
            samples: if quick { 3 } else { 7 },
            calls: if quick { 5_000 } else { 50_000 },
            new_flows_per_sample: if quick { 50 } else { 200 },
        },
    )
    .context("BPF_PROG_TEST_RUN benchmark")?;
    let (live, live_program_ns) = if wanted(Part::Live) {
        eprintln!("[bench] live frames through veth: packet rate ...");
        Some(
            live::run(
                &bench,
                &live::Effort {
                    samples: if quick { 2 } else { 5 },
                    frames: if quick { 200_000 } else { 2_000_000 },
                    flows: 10_000,
                },
            )
            .context("live packet-rate benchmark")?,
        )
        .unzip()
    } else {
        (None, None)
    };
    drop(bench);
    let cps = if wanted(Part::Cps) {
        eprintln!("[bench] TCP connections/s: HAProxy, then the data plane ...");
        Some(
            cps::run(&cps::Effort {
                samples: if quick { 2 } else { 5 },
                seconds: if quick { 1.0 } else { 2.0 },
                concurrency: 64,
                loops: std::thread::available_parallelism().map_or(2, usize::from),
            })
            .context("TCP connection-rate benchmark")?,
        )
    } else {
        None
    };
    let (direct, haproxy, lb) = cps.map_or((None, None, None), |c| {
        (Some(c.direct), c.haproxy, Some(c.lb))
    });
    let pick = |f: fn(&cps::Run) -> &stats::Stat| report::TcpFigure {
        direct: direct.as_ref().map(|r| *f(r)),
        haproxy: haproxy.as_ref().map(|r| *f(r)),
        lb: lb.as_ref().map(|r| *f(r)),
    };
    let http = if wanted(Part::Http) {
        eprintln!("[bench] HTTP requests/s: plain routing, HAProxy, the agent's proxy ...");
        Some(
            http::run(&http::Effort {
                samples: if quick { 2 } else { 5 },
                seconds: if quick { 1 } else { 3 },
                connections: 64,
                threads: std::thread::available_parallelism().map_or(2, usize::from),
            })
            .context("HTTP request-rate benchmark")?,
        )
    } else {
        None
    };
    let steer = if wanted(Part::Steer) {
        eprintln!("[bench] steering: a socket per VIP against sk_lookup ...");
        Some(
            steer::run(&steer::Effort {
                samples: if quick { 2 } else { 5 },
                listeners: 1_000,
                connections: if quick { 2_000 } else { 20_000 },
            })
            .context("steering benchmark")?,
        )
    } else {
        None
    };
    let report = report::Report {
        testrun_ns: testrun,
        live_mpps: live,
        live_program_ns,
        tcp_cps: pick(|r| &r.cps),
        tcp_cpu_busy_pct: pick(|r| &r.cpu_busy_pct),
        tcp_cpu_us_per_conn: pick(|r| &r.cpu_us_per_conn),
        http: report::HttpReport::of(http.as_ref()),
        steer,
    };
    report.write(&cli.out)?;
    println!("{}", report.markdown());
    eprintln!(
        "[bench] wrote {}/report.md and report.json",
        cli.out.display()
    );
    Ok(())
}
