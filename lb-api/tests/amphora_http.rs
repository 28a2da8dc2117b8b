//! End to end for HTTP listeners: the real `openstack` CLI → lb-api's controller → mutual TLS →
//! `lb-agent serve` → the agent's L7 proxy on the VIP → real HTTP servers in member namespaces,
//! with curl as the client. The seeds' HTTP cookbook (two members answering their names,
//! `X-Forwarded-For`), L7 policies made with `l7policy`/`l7rule create` (REDIRECT_TO_POOL by
//! path, REJECT by header, REDIRECT_TO_URL by host), HTTP_COOKIE persistence and the
//! listener's counters in `stats show`.

mod common;

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use common::{
    amphora::{Amphora, VIP},
    cli_or_skip,
};
use lb_testkit::{servers, topology::member_v4};

const TIMEOUT: Duration = Duration::from_secs(20);

fn curl(amp: &Amphora, path: &str, extra: &[&str]) -> String {
    let url = format!("http://{VIP}{path}");
    let mut args = vec!["-s", "--max-time", "5"];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = amp.topo.client.exec("curl", &args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn who(body: &str) -> String {
    body.lines().next().unwrap_or_default().to_owned()
}

fn create(amp: &Amphora, args: &[&str]) -> serde_json::Value {
    let v = amp.api.json(args);
    assert_eq!(
        v["provisioning_status"],
        "ACTIVE",
        "{args:?}: {v}\n{}",
        amp.logs()
    );
    v
}

#[test]
fn http_cookbook_with_l7_policies_persistence_and_stats_through_the_cli() {
    lb_testkit::require_root!();
    let Some(cli) = cli_or_skip() else { return };
    let amp = Amphora::start(cli, 3, 3);
    let _servers: Vec<_> = (0..3)
        .map(|i| {
            let addr = SocketAddr::new(member_v4(i).parse().expect("ip"), 80);
            servers::http_echo(&amp.topo.members[i], addr, &format!("webserver{}", i + 1))
        })
        .collect();

    create(
        &amp,
        &[
            "loadbalancer",
            "create",
            "--name",
            "lb1",
            "--vip-subnet-id",
            "private-subnet",
            "--vip-address",
            VIP,
            "--wait",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "listener",
            "create",
            "--name",
            "listener1",
            "--protocol",
            "HTTP",
            "--protocol-port",
            "80",
            "--insert-headers",
            "X-Forwarded-For=true",
            "--wait",
            "lb1",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "pool",
            "create",
            "--name",
            "pool1",
            "--lb-algorithm",
            "ROUND_ROBIN",
            "--listener",
            "listener1",
            "--protocol",
            "HTTP",
            "--wait",
        ],
    );
    for i in 0..2 {
        create(
            &amp,
            &[
                "loadbalancer",
                "member",
                "create",
                "--name",
                &format!("web{}", i + 1),
                "--address",
                &member_v4(i),
                "--protocol-port",
                "80",
                "--wait",
                "pool1",
            ],
        );
    }
    let listener = amp
        .api
        .json(&["loadbalancer", "listener", "show", "listener1"]);
    assert_eq!(listener["provisioning_status"], "ACTIVE", "{listener}");

    // Requests alternate between the two members; X-Forwarded-For carries the client.
    amp.wait_for("the HTTP listener to answer", TIMEOUT, || {
        curl(&amp, "/", &[]).starts_with("you hit").then_some(())
    });
    let mut seen = BTreeMap::<String, usize>::new();
    for _ in 0..10 {
        *seen.entry(who(&curl(&amp, "/", &[]))).or_default() += 1;
    }
    assert_eq!(
        seen,
        BTreeMap::from([
            ("you hit: webserver1".into(), 5),
            ("you hit: webserver2".into(), 5)
        ]),
        "{}",
        amp.logs()
    );
    let body = curl(&amp, "/", &[]);
    assert!(body.contains("x-forwarded-for: 198.18.0.1"), "{body}");

    // REDIRECT_TO_POOL: /api goes to a second pool.
    create(
        &amp,
        &[
            "loadbalancer",
            "pool",
            "create",
            "--name",
            "pool2",
            "--lb-algorithm",
            "ROUND_ROBIN",
            "--loadbalancer",
            "lb1",
            "--protocol",
            "HTTP",
            "--wait",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "member",
            "create",
            "--name",
            "api1",
            "--address",
            &member_v4(2),
            "--protocol-port",
            "80",
            "--wait",
            "pool2",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "l7policy",
            "create",
            "--name",
            "api",
            "--action",
            "REDIRECT_TO_POOL",
            "--redirect-pool",
            "pool2",
            "--wait",
            "listener1",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "l7rule",
            "create",
            "--compare-type",
            "STARTS_WITH",
            "--type",
            "PATH",
            "--value",
            "/api",
            "--wait",
            "api",
        ],
    );
    amp.wait_for("/api to reach pool2", TIMEOUT, || {
        (who(&curl(&amp, "/api/users", &[])) == "you hit: webserver3").then_some(())
    });
    assert_ne!(who(&curl(&amp, "/other", &[])), "you hit: webserver3");

    // REJECT by header; REDIRECT_TO_URL by host name.
    create(
        &amp,
        &[
            "loadbalancer",
            "l7policy",
            "create",
            "--name",
            "block",
            "--action",
            "REJECT",
            "--wait",
            "listener1",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "l7rule",
            "create",
            "--type",
            "HEADER",
            "--key",
            "X-Block",
            "--compare-type",
            "EQUAL_TO",
            "--value",
            "yes",
            "--wait",
            "block",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "l7policy",
            "create",
            "--name",
            "moved",
            "--action",
            "REDIRECT_TO_URL",
            "--redirect-url",
            "http://www.example.com/",
            "--wait",
            "listener1",
        ],
    );
    create(
        &amp,
        &[
            "loadbalancer",
            "l7rule",
            "create",
            "--type",
            "HOST_NAME",
            "--compare-type",
            "EQUAL_TO",
            "--value",
            "old.example.com",
            "--wait",
            "moved",
        ],
    );
    amp.wait_for("REJECT to answer 403", TIMEOUT, || {
        (curl(
            &amp,
            "/",
            &[
                "-H",
                "X-Block: yes",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ],
        ) == "403")
            .then_some(())
    });
    let moved = curl(
        &amp,
        "/",
        &[
            "-H",
            "Host: old.example.com",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ],
    );
    assert_eq!(moved, "302 http://www.example.com/");

    // HTTP_COOKIE persistence: 20 requests with the cookie stay on one member.
    amp.api.ok(&[
        "loadbalancer",
        "pool",
        "set",
        "--session-persistence",
        "type=HTTP_COOKIE",
        "--wait",
        "pool1",
    ]);
    let jar = amp.certs.with_file_name("cookies.txt");
    let jar = jar.to_string_lossy().into_owned();
    let first = amp.wait_for("the SRV cookie", TIMEOUT, || {
        let body = curl(&amp, "/", &["-c", &jar]);
        std::fs::read_to_string(&jar)
            .is_ok_and(|c| c.contains("SRV"))
            .then(|| who(&body))
    });
    for _ in 0..20 {
        assert_eq!(who(&curl(&amp, "/", &["-b", &jar])), first);
    }

    // The listener's counters reach `stats show` through heartbeats: curl made at least 37
    // connections above (1 + 10 + 1 + 1 + 1 + 1 + 1 + 1 + 20), each sending a request line.
    amp.wait_for("HTTP listener stats", TIMEOUT, || {
        let s = amp
            .api
            .json(&["loadbalancer", "listener", "stats", "show", "listener1"]);
        (s["total_connections"].as_i64()? >= 37
            && s["bytes_out"].as_i64()? > 0
            && s["bytes_in"].as_i64()? >= 37 * 16)
            .then_some(())
    });
}
