//! The report: JSON keys as the issue fixes them, and a Markdown table with the ratios.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::{
    http,
    live::{LiveMpps, LiveProgramNs},
    stats::Stat,
    steer::Steer,
    testrun::TestRunNs,
};

/// One value for each of the three configurations on the same topology: plain routing (no
/// load balancer: the client talks to the member), HAProxy, our load balancer (the data plane
/// for TCP, the agent's L7 proxy for HTTP). `None`: not measured.
#[derive(Debug, Serialize)]
pub struct PerConfig<T> {
    pub direct: Option<T>,
    pub haproxy: Option<T>,
    pub lb: Option<T>,
}

impl<T> Default for PerConfig<T> {
    fn default() -> Self {
        Self {
            direct: None,
            haproxy: None,
            lb: None,
        }
    }
}

/// One TCP figure for the three configurations.
pub type TcpFigure = PerConfig<Stat>;

/// The HTTP figures (keep-alive GETs through the VIP, driven by wrk), flattened into the report
/// as `http_*` keys.
#[derive(Debug, Default, Serialize)]
pub struct HttpReport {
    /// Completed requests per second.
    pub http_rps: PerConfig<Stat>,
    /// Busy share of all CPUs (%) during the runs (the machine's).
    pub http_cpu_busy_pct: PerConfig<Stat>,
    /// The machine's CPU time per completed request (µs).
    pub http_cpu_us_per_req: PerConfig<Stat>,
    /// Failed answers over all samples (non-2xx/3xx, socket errors, answers the member did not
    /// serve); anything but 0 flags the figure.
    pub http_errors: PerConfig<u64>,
    /// The agent's proxy against HAProxy, medians.
    pub http_ratio_lb_haproxy: Option<HttpRatios>,
    /// HAProxy with the agent's data plane attached beside it (every packet through XDP and
    /// passed, as the proxy's are): requests/s and CPU per request.
    pub http_rps_haproxy_behind_xdp: Option<Stat>,
    pub http_cpu_us_per_req_haproxy_behind_xdp: Option<Stat>,
    /// The agent's proxy against that, medians: the two proxies on equal footing.
    pub http_ratio_lb_haproxy_behind_xdp: Option<HttpRatios>,
    /// Why a configuration has no figure.
    pub http_not_measured: PerConfig<String>,
    /// The same GETs over TLS (TERMINATED_HTTPS, keep-alive): requests/s, the machine's CPU
    /// per request, HAProxy's and the agent's (`direct` stays null), and their ratio.
    pub https_rps: PerConfig<Stat>,
    pub https_cpu_us_per_req: PerConfig<Stat>,
    pub https_errors: PerConfig<u64>,
    pub https_ratio_lb_haproxy: Option<HttpRatios>,
    /// GETs over TLS that each close their connection (a full ECDSA P-256 handshake each):
    /// handshakes per second, HAProxy's and the agent's, and their ratio.
    pub tls_handshakes_per_s: PerConfig<Stat>,
    pub tls_handshakes_ratio_lb_haproxy: Option<f64>,
    /// The same with an RSA 2048 certificate.
    pub tls_handshakes_rsa_per_s: PerConfig<Stat>,
    pub tls_handshakes_rsa_ratio_lb_haproxy: Option<f64>,
}

/// `lb / haproxy` of the medians.
#[derive(Debug, Serialize)]
pub struct HttpRatios {
    pub rps: f64,
    pub cpu_us_per_req: f64,
}

impl HttpReport {
    /// The report's HTTP part (`None`: the part was not run).
    #[must_use]
    pub fn of(h: Option<&http::Http>) -> Self {
        let Some(h) = h else {
            return Self::default();
        };
        let lb = h.lb.as_ref().ok();
        let pick = |f: fn(&http::Run) -> Stat| PerConfig {
            direct: Some(f(&h.direct)),
            haproxy: h.haproxy.as_ref().map(f),
            lb: lb.map(f),
        };
        let ratio = match (&h.haproxy, lb) {
            (Some(hx), Some(l)) => Some(HttpRatios {
                rps: l.rps.median / hx.rps.median,
                cpu_us_per_req: l.cpu_us_per_req.median / hx.cpu_us_per_req.median,
            }),
            _ => None,
        };
        let (tx, tl) = (h.https_haproxy.as_ref(), h.https_lb.as_ref());
        let https = |f: fn(&http::Run) -> Stat| PerConfig {
            direct: None,
            haproxy: tx.map(f),
            lb: tl.map(f),
        };
        let https_ratio = match (tx, tl) {
            (Some(hx), Some(l)) => Some(HttpRatios {
                rps: l.rps.median / hx.rps.median,
                cpu_us_per_req: l.cpu_us_per_req.median / hx.cpu_us_per_req.median,
            }),
            _ => None,
        };
        let (hh, hl) = (h.handshakes_haproxy.as_ref(), h.handshakes_lb.as_ref());
        let bx = h.haproxy_behind_xdp.as_ref();
        let ratio_bx = match (bx, lb) {
            (Some(hx), Some(l)) => Some(HttpRatios {
                rps: l.rps.median / hx.rps.median,
                cpu_us_per_req: l.cpu_us_per_req.median / hx.cpu_us_per_req.median,
            }),
            _ => None,
        };
        Self {
            https_rps: https(|r| r.rps),
            https_cpu_us_per_req: https(|r| r.cpu_us_per_req),
            https_errors: PerConfig {
                direct: None,
                haproxy: tx.map(|r| r.errors),
                lb: tl.map(|r| r.errors),
            },
            https_ratio_lb_haproxy: https_ratio,
            tls_handshakes_per_s: PerConfig {
                direct: None,
                haproxy: hh.map(|r| r.rps),
                lb: hl.map(|r| r.rps),
            },
            tls_handshakes_ratio_lb_haproxy: match (hh, hl) {
                (Some(x), Some(l)) => Some(l.rps.median / x.rps.median),
                _ => None,
            },
            tls_handshakes_rsa_per_s: PerConfig {
                direct: None,
                haproxy: h.rsa_handshakes_haproxy.as_ref().map(|r| r.rps),
                lb: h.rsa_handshakes_lb.as_ref().map(|r| r.rps),
            },
            tls_handshakes_rsa_ratio_lb_haproxy: match (
                &h.rsa_handshakes_haproxy,
                &h.rsa_handshakes_lb,
            ) {
                (Some(x), Some(l)) => Some(l.rps.median / x.rps.median),
                _ => None,
            },
            http_rps_haproxy_behind_xdp: bx.map(|r| r.rps),
            http_cpu_us_per_req_haproxy_behind_xdp: bx.map(|r| r.cpu_us_per_req),
            http_ratio_lb_haproxy_behind_xdp: ratio_bx,
            http_rps: pick(|r| r.rps),
            http_cpu_busy_pct: pick(|r| r.cpu_busy_pct),
            http_cpu_us_per_req: pick(|r| r.cpu_us_per_req),
            http_errors: PerConfig {
                direct: Some(h.direct.errors),
                haproxy: h.haproxy.as_ref().map(|r| r.errors),
                lb: lb.map(|r| r.errors),
            },
            http_ratio_lb_haproxy: ratio,
            http_not_measured: PerConfig {
                direct: None,
                haproxy: h
                    .haproxy
                    .is_none()
                    .then(|| "haproxy is not installed".to_owned()),
                lb: h.lb.as_ref().err().cloned(),
            },
        }
    }

    /// The HTTP table (its own: the rows above may end in a paragraph), the errors that flag a
    /// figure and what each proxy costs per request.
    fn markdown(&self) -> String {
        let (r, u) = (&self.http_rps, &self.http_cpu_us_per_req);
        let Some(direct) = &r.direct else {
            return "\nHTTP requests/s against HAProxy: not measured in this run (`http_rps` is \
                    null).\n"
                .to_owned();
        };
        let flag = |errors: Option<u64>| match errors {
            Some(n) if n > 0 => format!(" ⚠ {n} errors"),
            _ => String::new(),
        };
        let mut md = String::from(
            "\n| HTTP figure | min | median | max | unit | lb-agent vs HAProxy (medians) |\n\
             |---|---|---|---|---|---|\n",
        );
        md += &row(
            &format!(
                "http: plain routing (no load balancer){}",
                flag(self.http_errors.direct)
            ),
            direct,
            "req/s",
            None,
        );
        if let Some(h) = &r.haproxy {
            md += &row(
                &format!(
                    "http: HAProxy (HTTP mode){}",
                    flag(self.http_errors.haproxy)
                ),
                h,
                "req/s",
                None,
            );
        }
        let ratio = self.http_ratio_lb_haproxy.as_ref();
        if let Some(l) = &r.lb {
            md += &row(
                &format!("http: lb-agent proxy{}", flag(self.http_errors.lb)),
                l,
                "req/s",
                ratio.map(|x| (x.rps, "HAProxy's rate")),
            );
        }
        if let Some(b) = &self.http_rps_haproxy_behind_xdp {
            md += &row(
                "http: HAProxy behind the data plane (XDP attached, passing)",
                b,
                "req/s",
                None,
            );
        }
        if let Some(b) = &self.http_cpu_us_per_req_haproxy_behind_xdp {
            md += &row(
                "http cpu per request: HAProxy behind the data plane",
                b,
                "µs",
                None,
            );
        }
        for (key, name, figure, ratio) in [
            (
                "ECDSA P-256",
                "HAProxy",
                &self.tls_handshakes_per_s.haproxy,
                None,
            ),
            (
                "ECDSA P-256",
                "lb-agent proxy",
                &self.tls_handshakes_per_s.lb,
                self.tls_handshakes_ratio_lb_haproxy,
            ),
            (
                "RSA 2048",
                "HAProxy",
                &self.tls_handshakes_rsa_per_s.haproxy,
                None,
            ),
            (
                "RSA 2048",
                "lb-agent proxy",
                &self.tls_handshakes_rsa_per_s.lb,
                self.tls_handshakes_rsa_ratio_lb_haproxy,
            ),
        ] {
            if let Some(f) = figure {
                md += &row(
                    &format!("tls handshakes ({key}, a connection per request): {name}"),
                    f,
                    "/s",
                    ratio.map(|x| (x, "HAProxy's rate")),
                );
            }
        }
        let tls_ratio = self.https_ratio_lb_haproxy.as_ref();
        for (name, rps, cpu, ratio) in [
            (
                "HAProxy",
                &self.https_rps.haproxy,
                &self.https_cpu_us_per_req.haproxy,
                None,
            ),
            (
                "lb-agent proxy",
                &self.https_rps.lb,
                &self.https_cpu_us_per_req.lb,
                tls_ratio,
            ),
        ] {
            if let Some(r) = rps {
                md += &row(
                    &format!("https (TERMINATED_HTTPS, keep-alive): {name}"),
                    r,
                    "req/s",
                    ratio.map(|x| (x.rps, "HAProxy's rate")),
                );
            }
            if let Some(c) = cpu {
                md += &row(
                    &format!("https cpu per request: {name}"),
                    c,
                    "µs",
                    ratio.map(|x| (x.cpu_us_per_req, "HAProxy's CPU")),
                );
            }
        }
        for (name, figure) in [
            ("plain routing", &self.http_cpu_busy_pct.direct),
            ("HAProxy", &self.http_cpu_busy_pct.haproxy),
            ("lb-agent proxy", &self.http_cpu_busy_pct.lb),
        ] {
            if let Some(f) = figure {
                md += &row(
                    &format!("http cpu busy: {name} run"),
                    f,
                    "% of all CPUs",
                    None,
                );
            }
        }
        for (name, figure, ratio) in [
            ("plain routing", &u.direct, None),
            ("HAProxy", &u.haproxy, None),
            (
                "lb-agent proxy",
                &u.lb,
                ratio.map(|x| (x.cpu_us_per_req, "HAProxy's CPU")),
            ),
        ] {
            if let Some(f) = figure {
                md += &row(&format!("http cpu per request: {name}"), f, "µs", ratio);
            }
        }
        for (name, why) in [
            ("HAProxy", &self.http_not_measured.haproxy),
            ("lb-agent proxy", &self.http_not_measured.lb),
        ] {
            if let Some(why) = why {
                let first = why.lines().next().unwrap_or_default();
                md += &format!("\nHTTP, {name}: not measured: {first}\n");
            }
        }
        if let (Some(d), Some(h)) = (&u.direct, &u.haproxy) {
            md += &format!(
                "\nCPU the proxy adds per request (its run minus plain routing, medians): \
                 HAProxy {:.1} µs",
                h.median - d.median
            );
            if let Some(l) = &u.lb {
                md += &format!(", lb-agent {:.1} µs", l.median - d.median);
            }
            md += ".\n";
        }
        if let Some(x) = self.http_ratio_lb_haproxy_behind_xdp.as_ref() {
            md += &format!(
                "\nlb-agent's proxy against HAProxy behind the same data plane (equal footing: \
                 both pay for XDP on the veths): {:.2}× its rate, {:.2}× its CPU per request.\n",
                x.rps, x.cpu_us_per_req
            );
        }
        let errors = [
            self.http_errors.direct,
            self.http_errors.haproxy,
            self.http_errors.lb,
        ];
        if errors.iter().flatten().any(|&n| n > 0) {
            md += "\n⚠ Some HTTP runs had errors (non-2xx/3xx answers, socket errors or answers \
                   the member did not serve; `http_errors`): their figures are suspect.\n";
        }
        md
    }
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
    #[serde(flatten)]
    pub http: HttpReport,
    /// Steering of proxied listeners (`steer.bound`, `steer.sk_lookup`); `None`: not measured.
    pub steer: Option<Steer>,
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
        md += &self.http.markdown();
        if let Some(steer) = &self.steer {
            md += &steer_markdown(steer);
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
               close; 64 in flight, one event loop per CPU in the client and in the member) from the \
               client namespace: to the member through the lb namespace as a plain router, then through \
               the VIP with HAProxy in TCP mode in the lb namespace, then with the data plane; CPU is \
               the whole machine's (client and member included). HTTP: keep-alive GETs of a \
               32-byte body (wrk, 64 connections, one thread per CPU, in the client namespace; the \
               member a hyper server with one worker per CPU), to the member through the lb namespace \
               as a router, then through the VIP with HAProxy in HTTP mode (Octavia's configuration of \
               an HTTP listener), then with `lb-agent run`'s L7 proxy; every answer must be the \
               member's `200`; CPU is the whole machine's per completed request.\n";
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

/// The steering table.
fn steer_markdown(s: &Steer) -> String {
    let ratio = s.sk_lookup.connect_us.median / s.bound.connect_us.median;
    let mut md = format!(
        "\n| steering ({} VIP:port listeners) | min | median | max | unit | sk_lookup vs bound sockets (medians) |\n|---|---|---|---|---|---|\n",
        s.listeners
    );
    md += &row(
        "steer: set up one listener, socket bound to VIP:port (IP_FREEBIND)",
        &s.bound.setup_us_per_listener,
        "µs",
        None,
    );
    md += &row(
        "steer: set up one listener, sk_lookup map entry",
        &s.sk_lookup.setup_us_per_listener,
        "µs",
        None,
    );
    md += &row(
        "steer: connect + accept + close, bound sockets",
        &s.bound.connect_us,
        "µs",
        None,
    );
    md += &row(
        "steer: connect + accept + close, one socket + sk_lookup",
        &s.sk_lookup.connect_us,
        "µs",
        Some((ratio, "the bound sockets' time")),
    );
    md += &format!(
        "\nKernel memory per bound listener socket: {:.1} KiB (machine slab delta); the \
         sk_lookup map is allocated in full at load. The sk_lookup program: {:.0} ns per run, \
         {:.2} runs per connection.\n",
        s.bound_kib_per_listener,
        s.sk_lookup_program.ns_per_run,
        s.sk_lookup_program.runs_per_connection
    );
    md
}
