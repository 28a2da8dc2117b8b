//! The report: JSON keys as the issue fixes them, and a Markdown table with the ratios.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::{
    live::{LiveMpps, LiveProgramNs},
    stats::Stat,
    testrun::TestRunNs,
};

/// One TCP figure for the three configurations on the same topology: plain routing (no load
/// balancer: the client connects to the member), HAProxy, the data plane.
#[derive(Debug, Serialize)]
pub struct TcpFigure {
    pub direct: Option<Stat>,
    pub haproxy: Option<Stat>,
    pub lb: Option<Stat>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub testrun_ns: TestRunNs,
    pub live_mpps: Option<LiveMpps>,
    pub live_program_ns: Option<LiveProgramNs>,
    /// Completed connections per second.
    pub tcp_cps: TcpFigure,
    /// Busy share of all CPUs (%) during the runs (the machine's: client, proxy or data plane,
    /// member).
    pub tcp_cpu_busy_pct: TcpFigure,
    /// The machine's CPU time per completed connection (µs).
    pub tcp_cpu_us_per_conn: TcpFigure,
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
            "test-run: established TCP, IPv6",
            &t.established_v6,
            "ns/pkt",
            Some((t.established_v6.median / floor, "floor cost")),
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
        md += &self.tcp_markdown();
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
               close; 64 in flight, one event loop per CPU in the client and in the member) from the \
               client namespace: to the member through the lb namespace as a plain router, then through \
               the VIP with HAProxy in TCP mode in the lb namespace, then with the data plane; CPU is \
               the whole machine's (client and member included).\n";
        md
    }
}

impl Report {
    /// The TCP rows, and what the load balancer itself costs per connection.
    fn tcp_markdown(&self) -> String {
        let (c, u) = (&self.tcp_cps, &self.tcp_cpu_us_per_conn);
        let Some(lb) = &c.lb else {
            return "\nTCP connections/s against HAProxy: not measured in this run (`tcp_cps` is \
                    null).\n"
                .to_owned();
        };
        let mut md = String::new();
        if let Some(d) = &c.direct {
            md += &row("tcp: plain routing (no load balancer)", d, "conn/s", None);
        }
        match &c.haproxy {
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
        for (name, figure) in [
            ("plain routing", &self.tcp_cpu_busy_pct.direct),
            ("HAProxy", &self.tcp_cpu_busy_pct.haproxy),
            ("data plane", &self.tcp_cpu_busy_pct.lb),
        ] {
            if let Some(f) = figure {
                md += &row(&format!("cpu busy: {name} run"), f, "% of all CPUs", None);
            }
        }
        for (name, figure) in [
            ("plain routing", &u.direct),
            ("HAProxy", &u.haproxy),
            ("data plane", &u.lb),
        ] {
            if let Some(f) = figure {
                md += &row(&format!("cpu per connection: {name}"), f, "µs", None);
            }
        }
        if let (Some(d), Some(h), Some(l)) = (&u.direct, &u.haproxy, &u.lb) {
            let (hx, lx) = (h.median - d.median, l.median - d.median);
            md += &format!(
                "\nCPU the load balancer adds per connection (its run minus plain routing, \
                 medians): HAProxy {hx:.0} µs, data plane {lx:.0} µs"
            );
            if lx >= 1.0 {
                md += &format!(" ({:.1}× less)", hx / lx);
            } else {
                md += " (within the noise of the plain-routing figure)";
            }
            md += &format!(
                ". Client, member and routing cost {:.0} µs per connection on the same CPUs, \
                 which bounds the data plane's connection rate at about {:.1}× HAProxy's here \
                 however cheap the data plane is.\n",
                d.median,
                h.median / d.median
            );
        }
        md
    }
}
