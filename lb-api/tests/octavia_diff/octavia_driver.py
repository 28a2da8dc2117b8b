"""Octavia's own v2 API, in-process, for lb-api's differential test (`tests/octavia_diff.rs`).

Builds the pecan app the way Octavia's functional tests do (octavia/tests/functional/api/v2/
base.py): noauth, a SQLite database (a file in the working directory) created from the models with its lookup tables
seeded, the noop network driver, and no message bus (oslo.messaging's `fake://` transport, so
the amphora provider's casts go nowhere). Provider `noop` is served by Octavia's `noop_driver`
(lb-api's name for the same thing).

Protocol: one JSON object per line on stdin, one JSON answer per line on stdout.
  {"method": "GET", "path": "/v2/lbaas/loadbalancers?limit=1", "headers": {...}, "body": <json or
   string or null>}                     -> {"status": 200, "body": <json, text or null>}
  {"op": "settle"}                      -> {"settled": <count>}
      completes every pending change as a provider would report it through Octavia's driver
      agent (octavia.api.drivers.driver_agent.driver_updater): PENDING_CREATE/UPDATE -> ACTIVE,
      PENDING_DELETE -> DELETED (children rows removed, the load balancer soft-deleted).
Everything Octavia logs goes to stderr.
"""

import io
import json
import os
import sys
import warnings


def main():
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    # Whatever Octavia or its libraries print must not corrupt the protocol.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    warnings.simplefilter("ignore")

    from oslo_config import cfg

    from octavia.api import app as octavia_app
    from octavia.api import config as pconfig
    from octavia.api.drivers import driver_factory
    from octavia.api.drivers.driver_agent import driver_updater
    from octavia.common import config
    from octavia.common import constants
    from octavia.db import api as db_api
    from octavia.db import base_models
    from octavia.db import models
    import pecan

    # Register every option group before overriding.
    config.register_cli_opts()
    conf = cfg.CONF

    # A file, not `sqlite://`: in memory every session shares one connection, so a provider
    # driver's own session (the amphora driver reads the listener in l7policy_create) commits
    # or sees the API's open transaction, which no real deployment does.
    db_url = "sqlite:///" + os.path.abspath("octavia.db")
    conf.set_override("connection", db_url, group="database")
    conf.set_override("pool_timeout", None, group="database")
    conf.set_override("auth_strategy", constants.NOAUTH, group="api_settings")
    conf.set_override("default_provider_driver", "amphora", group="api_settings")
    conf.set_override(
        "enabled_provider_drivers",
        {
            "amphora": "The Octavia Amphora driver.",
            "octavia": "Deprecated alias of the Octavia Amphora driver.",
            "noop": "The no-op driver: completes every change without any agent.",
        },
        group="api_settings",
    )
    conf.set_override("network_driver", "network_noop_driver", group="controller_worker")
    import oslo_messaging

    oslo_messaging.set_transport_defaults("octavia")
    conf.register_opts(oslo_messaging.transport._transport_opts)
    conf.set_override("transport_url", "fake:/")
    conf.set_override("debug", False)
    conf.set_override("use_stderr", True)

    # As the functional tests do: no dump of every option at start.
    conf.log_opt_values = lambda *_args, **_kwargs: None

    # lb-api calls the noop provider `noop`; Octavia registers it as `noop_driver`.
    real_get_driver = driver_factory.get_driver

    def get_driver(provider):
        if provider == "noop":
            from octavia.api.drivers.noop_driver import driver as noop

            drv = noop.NoopProviderDriver()
            drv.name = "noop"
            return drv
        return real_get_driver(provider)

    driver_factory.get_driver = get_driver

    engine = db_api.get_engine()
    base_models.BASE.metadata.create_all(engine)
    session = db_api.get_session()
    with session.begin():
        seed(session, constants, models)

    app = octavia_app.setup_app(
        pecan_config=pecan.configuration.conf_from_dict(
            {"app": pconfig.app, "wsme": pconfig.wsme}
        ),
        argv=["octavia-api"],
    )
    # setup_app re-read the configuration; keep ours.
    conf.set_override("connection", db_url, group="database")
    updater = driver_updater.DriverUpdater()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("op") == "settle":
            answer = {"settled": settle(updater, session, models)}
        else:
            answer = call(app, req)
        proto_out.write(json.dumps(answer) + "\n")


def seed(session, constants, models):
    """The lookup tables and DELETED placeholders (octavia/tests/functional/db/base.py)."""
    for names, cls in [
        (constants.SUPPORTED_PROVISIONING_STATUSES, models.ProvisioningStatus),
        (constants.SUPPORTED_HEALTH_MONITOR_TYPES, models.HealthMonitorType),
        (constants.SUPPORTED_LB_ALGORITHMS, models.Algorithm),
        (constants.SUPPORTED_PROTOCOLS, models.Protocol),
        (constants.SUPPORTED_OPERATING_STATUSES, models.OperatingStatus),
        (constants.SUPPORTED_SP_TYPES, models.SessionPersistenceType),
        (constants.SUPPORTED_AMPHORA_ROLES, models.AmphoraRoles),
        (constants.SUPPORTED_LB_TOPOLOGIES, models.LBTopology),
        (constants.SUPPORTED_VRRP_AUTH, models.VRRPAuthMethod),
        (constants.SUPPORTED_L7RULE_TYPES, models.L7RuleType),
        (constants.SUPPORTED_L7RULE_COMPARE_TYPES, models.L7RuleCompareType),
        (constants.SUPPORTED_L7POLICY_ACTIONS, models.L7PolicyAction),
        (constants.SUPPORTED_CLIENT_AUTH_MODES, models.ClientAuthenticationMode),
    ]:
        for name in names:
            session.add(cls(name=name))
    session.add(
        models.FlavorProfile(
            id=constants.NIL_UUID,
            name="DELETED-PLACEHOLDER",
            provider_name=constants.DELETED,
            flavor_data="{}",
        )
    )
    session.flush()
    session.add(
        models.Flavor(
            id=constants.NIL_UUID,
            flavor_profile_id=constants.NIL_UUID,
            name="DELETED-PLACEHOLDER",
            enabled=False,
            description="Placeholder for DELETED LBs with DELETED flavors",
        )
    )
    session.flush()
    session.add(
        models.AvailabilityZoneProfile(
            id=constants.NIL_UUID,
            name="DELETED-PLACEHOLDER",
            provider_name=constants.DELETED,
            availability_zone_data="{}",
        )
    )
    session.flush()
    session.add(
        models.AvailabilityZone(
            availability_zone_profile_id=constants.NIL_UUID,
            name=constants.NIL_UUID,
            enabled=False,
            description="Placeholder for DELETED LBs with DELETED availability zones",
        )
    )
    session.flush()


def settle(updater, session, models):
    """Report every pending object done, as a provider driver does."""
    kinds = [
        ("loadbalancers", models.LoadBalancer),
        ("listeners", models.Listener),
        ("pools", models.Pool),
        ("members", models.Member),
        ("healthmonitors", models.HealthMonitor),
        ("l7policies", models.L7Policy),
        ("l7rules", models.L7Rule),
    ]
    status = {}
    count = 0
    with session.begin():
        for key, cls in kinds:
            for obj in session.query(cls).filter(
                cls.provisioning_status.like("PENDING_%")
            ):
                final = (
                    "DELETED" if obj.provisioning_status == "PENDING_DELETE" else "ACTIVE"
                )
                status.setdefault(key, []).append(
                    {"id": obj.id, "provisioning_status": final}
                )
                count += 1
    session.expunge_all()
    if status:
        result = updater.update_loadbalancer_status(status)
        if result.get("status_code") != 200:
            raise RuntimeError(f"settle failed: {result}")
    return count


def call(app, req):
    method = req["method"]
    path, _, query = req["path"].partition("?")
    body = req.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "lb.test",
        "SERVER_PORT": "9876",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "lb.test:9876",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(data)),
    }
    if data:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in (req.get("headers") or {}).items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + key] = value
    result = {}

    def start_response(status, headers, exc_info=None):
        result["status"] = int(status.split(" ", 1)[0])
        result["headers"] = {k.lower(): v for k, v in headers}
        return lambda _chunk: None

    chunks = app(environ, start_response)
    try:
        raw = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    if not raw:
        parsed = None
    else:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
    return {"status": result["status"], "body": parsed}


if __name__ == "__main__":
    main()
