//! The report: JSON keys as the issue fixes them, and a Markdown table with the ratios.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::{
    live::{LiveMpps, LiveProgramNs},
    stats::Stat,
    testrun::TestRunNs,
};

/// TCP connections per second through the VIP, against HAProxy on the same topology.
#[derive(Debug, Serialize)]
pub struct TcpCps {
    pub haproxy: Option<Stat>,
    pub lb: Option<Stat>,
}

/// Busy share of all CPUs (%) while the connection rates were measured (the machine's:
/// client, proxy or data plane, member).
#[derive(Debug, Serialize)]
pub struct TcpCpu {
    pub haproxy: Option<Stat>,
    pub lb: Option<Stat>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub testrun_ns: TestRunNs,
    pub live_mpps: Option<LiveMpps>,
    pub live_program_ns: Option<LiveProgramNs>,
    pub tcp_cps: TcpCps,
    pub tcp_cpu_busy_pct: TcpCpu,
}

fn row(name: &str, s: &Stat, unit: &str, ratio: Option<(f64, &str)>) -> String {
    let ratio = ratio.map_or(String::new(), |(r, what)| format!("{r:.2}× {what}"));
    format!(
        "| {name} | {:.1} | {:.1} | {:.1} | {unit} | {ratio} |\n",
        s.min, s.median, s.max
    )
}

impl Report {
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    #[must_use]
    pub fn markdown(&self) -> String {
        let t = &self.testrun_ns;
        let floor = t.floor_pass.median;
        let mut md = String::from("# Data-plane benchmark\n\n");
        md += "| figure | min | median | max | unit | vs floor (medians) |\n|---|---|---|---|---|---|\n";
        md += &row("test-run: XDP_PASS floor", &t.floor_pass, "ns/pkt", None);
        md += &row(
            "test-run: established TCP",
            &t.established,
            "ns/pkt",
            Some((t.established.median / floor, "floor cost (goal ≤ 2.1×)")),
        );
        md += &row(
            "test-run: new-flow SYN",
            &t.new_flow,
            "ns/pkt",
            Some((t.new_flow.median / floor, "floor cost")),
        );
        md += &row(
            "test-run: UDP of a flow",
            &t.udp,
            "ns/pkt",
            Some((t.udp.median / floor, "floor cost")),
        );
        md += &row(
            "test-run: non-VIP packet",
            &t.non_vip,
            "ns/pkt",
            Some((t.non_vip.median / floor, "floor cost")),
        );
        if let Some(l) = &self.live_mpps {
            let tx = l.xdp_tx_floor.median;
            md += &row("live: XDP_TX floor", &l.xdp_tx_floor, "Mpps", None);
            md += &row(
                "live: redirect floor",
                &l.redirect_floor,
                "Mpps",
                Some((l.redirect_floor.median / tx, "XDP_TX rate")),
            );
            md += &row(
                "live: one-armed, 1 flow",
                &l.flows_1,
                "Mpps",
                Some((l.flows_1.median / tx, "XDP_TX rate (goal ≥ 0.8×)")),
            );
            md += &row(
                "live: one-armed, 10,000 flows",
                &l.flows_10k,
                "Mpps",
                Some((l.flows_10k.median / tx, "XDP_TX rate (goal ≥ 0.6×)")),
            );
            let redirect = l.redirect_floor.median;
            md += &row(
                "live: two-armed, 1 flow",
                &l.two_arm_flows_1,
                "Mpps",
                Some((l.two_arm_flows_1.median / redirect, "redirect floor")),
            );
            md += &row(
                "live: two-armed, 10,000 flows",
                &l.two_arm_flows_10k,
                "Mpps",
                Some((l.two_arm_flows_10k.median / redirect, "redirect floor")),
            );
        } else {
            md += "\nLive packet rate: not measured in this run (`live_mpps` is null).\n";
        }
        if let Some(p) = &self.live_program_ns {
            md += "\nIn-program time per frame in the live figures (kernel run-time statistics, one \
                   extra sample each): ";
            md += &format!(
                "XDP_TX floor {:.0} ns, redirect floor {:.0} ns, one-armed {:.0} / {:.0} ns \
                 (1 / 10,000 flows), two-armed {:.0} / {:.0} ns.\n\n",
                p.xdp_tx_floor,
                p.redirect_floor,
                p.flows_1,
                p.flows_10k,
                p.two_arm_flows_1,
                p.two_arm_flows_10k
            );
        }
        if let Some(lb) = &self.tcp_cps.lb {
            match &self.tcp_cps.haproxy {
                Some(h) => {
                    md += &row("tcp: HAProxy (TCP mode)", h, "conn/s", None);
                    md += &row(
                        "tcp: data plane",
                        lb,
                        "conn/s",
                        Some((lb.median / h.median, "HAProxy's rate (goal ≥ 3×)")),
                    );
                }
                None => md += &row("tcp: data plane", lb, "conn/s", None),
            }
            for (name, cpu) in [
                ("cpu busy: HAProxy run", &self.tcp_cpu_busy_pct.haproxy),
                ("cpu busy: data-plane run", &self.tcp_cpu_busy_pct.lb),
            ] {
                if let Some(cpu) = cpu {
                    md += &row(name, cpu, "% of all CPUs", None);
                }
            }
        } else {
            md += "\nTCP connections/s against HAProxy: not measured in this run (`tcp_cps` is null).\n";
        }
        md += "\nTest-run times: the kernel's time for one run per call (every call gets the frame \
               afresh; the kernel does not restore it between repeats), averaged over calls, with the \
               client-side veth as ingress (route lookups included; redirects not carried out). Live \
               rates: frames processed by XDP on the lb's client-side veth per second of wall time, sent \
               by an XDP generator (BPF_PROG_TEST_RUN live frames) in the client namespace; the XDP_TX \
               floor bounces them, the redirect floor redirects them untouched to the member-side veth; \
               the data plane translates them and sends them to a member behind the client-side veth \
               (one-armed: XDP_TX, like the floor) or behind the member-side veth (two-armed: a \
               redirect, compared with the redirect floor). Generator and data plane share the \
               machine's CPUs. TCP: completed connections per second (connect, read the member's line, \
               close) from the client namespace through the VIP, HAProxy in TCP mode in the lb namespace \
               against the data plane on the same topology; CPU is the whole machine's busy share during \
               the runs (client and member included).\n";
        md
    }
}
