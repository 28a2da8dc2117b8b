//! PROMETHEUS listeners (Octavia 2023.1+): each request, whatever its path, is answered with the
//! load balancer's metrics in the Prometheus text format, from the proxy's counters.
//! Metric names follow Octavia's amphora exporter (`octavia_listener_*` per listener of the
//! load balancer the listener belongs to).

use std::{fmt::Write as _, sync::Arc};

use http::{HeaderValue, Response, header};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::{body::RespBody, counters::Snapshot, listen::ListenerRt};

/// The metrics body for the given listeners' counters.
#[must_use]
pub fn render(listeners: &[(String, Snapshot)]) -> String {
    let mut out = String::new();
    type Metric = (
        &'static str,
        &'static str,
        &'static str,
        fn(&Snapshot) -> u64,
    );
    let metrics: [Metric; 6] = [
        (
            "octavia_listener_active_connections",
            "gauge",
            "Active frontend connections",
            |s| s.active,
        ),
        (
            "octavia_listener_total_connections",
            "counter",
            "Total frontend connections",
            |s| s.total,
        ),
        (
            "octavia_listener_bytes_in_total",
            "counter",
            "Total bytes in",
            |s| s.bytes_in,
        ),
        (
            "octavia_listener_bytes_out_total",
            "counter",
            "Total bytes out",
            |s| s.bytes_out,
        ),
        (
            "octavia_listener_requests_total",
            "counter",
            "Total HTTP requests",
            |s| s.requests,
        ),
        (
            "octavia_listener_request_errors_total",
            "counter",
            "Total request errors",
            |s| s.request_errors,
        ),
    ];
    for (name, kind, help, get) in metrics {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (id, s) in listeners {
            let _ = writeln!(out, "{name}{{listener=\"{id}\"}} {}", get(s));
        }
    }
    out
}

/// Serves one client connection of a PROMETHEUS listener (HTTP/1.1).
pub async fn serve(rt: Arc<ListenerRt>, stream: TcpStream) {
    let cfg = rt.cfg.load_full();
    let svc_rt = rt.clone();
    let svc = service_fn(move |_req| {
        let cfg = svc_rt.cfg.load_full();
        async move {
            let body = render(&cfg.lb_counters());
            let mut r = Response::new(RespBody::Own(Some(body.into())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            Ok::<_, std::convert::Infallible>(r)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.timeouts.client_data)
        .serve_connection(TokioIo::new(stream), svc);
    if let Err(error) = conn.await {
        tracing::debug!(%error, "metrics connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listener_appears_under_every_metric() {
        let s = Snapshot {
            active: 2,
            total: 9,
            requests: 7,
            ..Snapshot::default()
        };
        let text = render(&[("l1".into(), s)]);
        assert!(text.contains("# TYPE octavia_listener_total_connections counter"));
        assert!(text.contains("octavia_listener_total_connections{listener=\"l1\"} 9"));
        assert!(text.contains("octavia_listener_active_connections{listener=\"l1\"} 2"));
        assert!(text.contains("octavia_listener_requests_total{listener=\"l1\"} 7"));
    }

    #[test]
    fn kernel_listeners_of_the_load_balancer_are_reported_as_mirrored() {
        let state = lb_proto::DesiredState::from_json(
            br#"{"version": 1, "generation": 1, "snat": {"ipv4": "198.18.1.1"},
                "loadbalancers": [{"id": "lb",
                "vip_address": "198.18.0.100",
                "listeners": [
                    {"id": "tcp", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p"},
                    {"id": "metrics", "protocol": "PROMETHEUS", "protocol_port": 9100}],
                "pools": [{"id": "p", "lb_algorithm": "ROUND_ROBIN", "members": []}]}]}"#,
        )
        .expect("state");
        let mut registry = crate::proxy::config::Registry::default();
        let built = registry.build(&state);
        let metrics = built
            .iter()
            .find(|l| &*l.id == "metrics")
            .expect("the PROMETHEUS listener is proxied");
        assert!(
            built.iter().all(|l| &*l.id != "tcp"),
            "the TCP listener stays in XDP"
        );
        // Until a report mirrors the kernel's figures, the TCP listener reads 0.
        let text = render(&metrics.lb_counters());
        assert!(text.contains("octavia_listener_total_connections{listener=\"tcp\"} 0"));
        registry.counters["tcp"].mirror(&Snapshot {
            active: 3,
            total: 41,
            bytes_in: 1000,
            bytes_out: 5000,
            ..Snapshot::default()
        });
        let text = render(&metrics.lb_counters());
        assert!(
            text.contains("octavia_listener_total_connections{listener=\"tcp\"} 41"),
            "{text}"
        );
        assert!(text.contains("octavia_listener_active_connections{listener=\"tcp\"} 3"));
        assert!(text.contains("octavia_listener_bytes_out_total{listener=\"tcp\"} 5000"));
        assert!(text.contains("octavia_listener_total_connections{listener=\"metrics\"} 0"));
    }
}
