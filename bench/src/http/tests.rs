//! Tests of the HTTP benchmark's parsing of wrk's report.

use super::*;

#[test]
fn wrk_output_is_parsed() {
    let out = "Running 1s test @ http://198.18.0.100/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.88ms  338.33us   4.12ms   74.40%
    Req/Sec     2.19k   188.74     2.44k    54.55%
  2394 requests in 1.10s, 1.19MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   2177.05
Transfer/sec:      1.08MB
";
    assert_eq!(
        parse_wrk(out).expect("parsed"),
        Wrk {
            requests: 2394,
            rps: 2177.05,
            non_2xx: 7,
            socket_errors: 6
        }
    );
    let clean = "  10 requests in 1.00s, 1.00KB read\nRequests/sec:     10.00\n";
    let wrk = parse_wrk(clean).expect("parsed");
    assert_eq!((wrk.requests, wrk.non_2xx, wrk.socket_errors), (10, 0, 0));
    assert!(parse_wrk("unable to connect to 198.18.0.100:80").is_err());
}

#[test]
fn agent_state_is_valid() {
    // The state must at least parse as the contract's JSON; whether the agent serves it
    // is what the benchmark finds out.
    let cert = https::Certs::new().expect("certificates");
    for state in [agent_state(&cert), xdp_only_state(&cert)] {
        let json = state.to_string();
        assert!(
            lb_proto::DesiredState::from_json(json.as_bytes()).is_ok(),
            "{json}"
        );
    }
    // The XDP-only state must leave ports 80 and 443 to HAProxy.
    let xdp = xdp_only_state(&cert);
    let listeners = xdp["loadbalancers"][0]["listeners"]
        .as_array()
        .expect("listeners");
    assert!(
        listeners.iter().all(|l| l["protocol_port"] != 80
            && l["protocol_port"] != 443
            && l["protocol"] == "TCP")
    );
}
