"""The deployment files, checked statically with what Debian ships (no Docker engine here).

scripts/deploy_tools.sh (run by `make test`) installs docker-compose, nginx
and promtool when they are missing; without them these tests fail, never skip.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE_ENV = {
    **os.environ,
    "JWT_SECRET": "compose-check-secret",
    "FLOWER_BASIC_AUTH": "ops:compose-check",
    "METRICS_TOKEN": "compose-check-token",
}
METRICS = {
    "partpulse_events_total",
    "partpulse_outbox_pending",
    "partpulse_queue_depth",
    "partpulse_delivery_seconds",
    "partpulse_sockets_connected",
    "partpulse_event_lag_seconds",
    "partpulse_handler_seconds",
}


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    assert path, f"{name} is missing: run scripts/deploy_tools.sh (make test does)"
    return path


def compose_config(*args: str) -> dict:
    result = subprocess.run(
        [tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), *args, "config"],
        env=COMPOSE_ENV,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_runs_two_gateways_behind_one_port_scalable_workers_one_beat() -> None:
    services = compose_config()["services"]
    assert {"postgres", "redis", "migrate", "gateway-1", "gateway-2", "proxy", "worker", "beat", "flower"} <= set(
        services
    )
    profiled = {name for name, s in services.items() if s.get("profiles")}
    assert profiled == {"prometheus", "grafana"}, "monitoring runs only with its profile"
    assert all(services[name]["profiles"] == ["monitoring"] for name in profiled)
    published = {name: s.get("ports", []) for name, s in services.items() if s.get("ports")}
    # One public port (the proxy); Flower only on the loopback; gateways and workers not published.
    assert set(published) - profiled == {"proxy", "flower"}
    for name in ("flower", *profiled):
        assert all(str(p).startswith("127.0.0.1:") or (isinstance(p, dict) and p.get("host_ip") == "127.0.0.1")
                   for p in published[name]), name
    worker = services["worker"]
    assert "container_name" not in worker and not worker.get("ports"), "--scale worker=N needs neither"
    assert worker["command"][:4] == ["celery", "-A", "workers", "worker"]
    assert worker["environment"]["HOST"] == "0.0.0.0" and worker["environment"]["WORKER_METRICS_PORT"] == "9808"
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers", "beat"]
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "ops:compose-check"
    for name in ("gateway-1", "gateway-2"):
        assert services[name]["command"][:2] == ["uvicorn", "gateway.main:app"]
        assert services[name]["environment"]["METRICS_TOKEN"] == "compose-check-token"


def test_compose_refuses_to_start_flower_without_credentials() -> None:
    env = {k: v for k, v in COMPOSE_ENV.items() if k != "FLOWER_BASIC_AUTH"}
    result = subprocess.run(
        [tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env=env, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert result.returncode != 0 and "FLOWER_BASIC_AUTH" in result.stderr


def test_compose_monitoring_profile_mounts_the_repo_configs() -> None:
    services = compose_config("--profile", "monitoring")["services"]
    assert {"prometheus", "grafana"} <= set(services)
    mounts = [str(v.get("source") if isinstance(v, dict) else v).split(":")[0]
              for s in ("prometheus", "grafana") for v in services[s].get("volumes", [])]
    assert any(m.endswith("deploy/prometheus/prometheus.yml") for m in mounts)
    assert any(m.endswith("deploy/grafana/dashboards") for m in mounts)
    assert any(m.endswith("deploy/grafana/provisioning") for m in mounts)


def test_nginx_config_is_valid_and_sticky(tmp_path: Path) -> None:
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    upstream = re.search(r"upstream gateways \{(.*?)\}", text, re.S)
    assert upstream and "ip_hash;" in upstream.group(1)
    assert upstream.group(1).count("server gateway-") == 2
    assert "proxy_set_header Upgrade $http_upgrade" in text
    # nginx -t resolves upstream names; outside Docker's network they do not exist,
    # so the copy under test points them at the loopback. Everything else is as shipped.
    (tmp_path / "nginx.conf").write_text(re.sub(r"gateway-\d:8000", "127.0.0.1:8000", text))
    result = subprocess.run(
        [tool("nginx"), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", "stderr"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_sets_its_own_limits_and_gateways_cap_headers() -> None:
    """Issue 20: the proxy's body, header and timeout limits are explicit, not nginx's defaults;
    the gateways behind it run the protocol class that caps request heads."""
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    for directive in (
        "client_max_body_size", "client_body_timeout", "client_header_buffer_size",
        "large_client_header_buffers", "client_header_timeout", "keepalive_timeout", "send_timeout",
        "proxy_connect_timeout", "proxy_read_timeout",
    ):
        assert re.search(rf"^\s*{directive}\s+\S", text, re.M), directive
    services = compose_config()["services"]
    for name in ("gateway-1", "gateway-2"):
        command = services[name]["command"]
        assert command[command.index("--http") + 1] == "gateway.http_protocol:GatewayHttpProtocol"


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    token = tmp_path / "metrics_token"
    token.write_text("check")
    # The token file is written by the container at start; promtool wants it to exist.
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/secrets/metrics_token", str(token)))
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: job for job in yaml.safe_load(text)["scrape_configs"]}
    assert jobs["partpulse-gateway"]["static_configs"][0]["targets"] == ["gateway-1:8000", "gateway-2:8000"]
    assert jobs["partpulse-worker"]["dns_sd_configs"][0]["port"] == 9808


@pytest.mark.parametrize("path", sorted((DEPLOY / "grafana").rglob("*.json")), ids=lambda p: p.name)
def test_grafana_dashboard_queries_known_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {re.sub(r"_(bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"partpulse_[a-z_]+", e)}
    assert used == METRICS, f"unknown: {used - METRICS}; not shown: {METRICS - used}"
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for word in ("by type and state", "outbox", "queue depth", "delivery", "lag", "handler", "sockets"):
        assert word in titles
    assert all(t["datasource"]["uid"] == "partpulse-prometheus" for p in dashboard["panels"] for t in p["targets"])
    # The file is generated: regenerate it with deploy/make_dashboard.py after editing the panels there.
    import runpy

    generated = runpy.run_path(str(DEPLOY / "make_dashboard.py"))["dashboard"]()
    assert generated == dashboard


def test_compose_puts_pgbouncer_in_front_of_postgres_and_migrates_directly() -> None:
    services = compose_config()["services"]
    bouncer = services["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction" and bouncer["LISTEN_PORT"] == "6432"
    for name in ("gateway-1", "worker", "periodic-worker", "email-worker", "beat", "flower", "migrate"):
        env = services[name]["environment"]
        assert "@pgbouncer:6432/" in env["DATABASE_URL"], name
        assert "@postgres:5432/" in env["DATABASE_DIRECT_URL"], name  # migrations and session-level work
        # Straight on PgBouncer, or after the migration, which waits for it.
        assert {"pgbouncer", "migrate"} & set(services[name]["depends_on"]), name
    assert "pgbouncer" in services["migrate"]["depends_on"]
