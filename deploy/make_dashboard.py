"""Writes deploy/grafana/dashboards/partpulse.json (run it after changing a panel here)."""

import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "partpulse-prometheus"}
# Every gateway reads the same database, so database-derived series are the
# same on each: take the max across gateways, never the sum.
PANELS = [
    ("Events handled per second, by type and state", "reqps", [
        ('max by (event_type, state) (rate(partpulse_events_total{state=~"PROCESSED|FAILED"}[2m]))',
         "{{event_type}} {{state}}"),
    ]),
    ("Events in the log, by state", "short", [
        ("max by (state) (sum by (state, instance) (partpulse_events_total))", "{{state}}"),
    ]),
    ("Outbox pending (PENDING or QUEUED)", "short", [
        ("max(partpulse_outbox_pending)", "pending"),
    ]),
    ("Celery queue depth", "short", [
        ("max by (queue) (partpulse_queue_depth)", "{{queue}}"),
    ]),
    ("Delivery: event written -> socket message at the gateway", "s", [
        ("histogram_quantile(0.5, sum by (le) (rate(partpulse_delivery_seconds_bucket[2m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(partpulse_delivery_seconds_bucket[2m])))", "p99"),
    ]),
    ("Event lag: written -> handled by a worker", "s", [
        ("histogram_quantile(0.5, sum by (le) (rate(partpulse_event_lag_seconds_bucket[2m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(partpulse_event_lag_seconds_bucket[2m])))", "p99"),
    ]),
    ("Handler time p99, by event type", "s", [
        ("histogram_quantile(0.99, sum by (le, event_type) (rate(partpulse_handler_seconds_bucket[2m])))",
         "{{event_type}}"),
    ]),
    ("Events handled per second, by worker host", "reqps", [
        ("sum by (instance) (rate(partpulse_handler_seconds_count[2m]))", "{{instance}}"),
    ]),
    ("Sockets connected", "short", [
        ("sum(partpulse_sockets_connected)", "all gateways"),
        ("sum by (instance) (partpulse_sockets_connected)", "{{instance}}"),
    ]),
    ("Socket messages timed per second, by gateway", "reqps", [
        ("sum by (instance) (rate(partpulse_delivery_seconds_count[2m]))", "{{instance}}"),
    ]),
]


def panel(index: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": DS,
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DS, "expr": expr, "legendFormat": legend}
            for n, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard() -> dict:
    return {
        "uid": "partpulse-ops",
        "title": "PartPulse operations",
        "tags": ["partpulse"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [panel(i, *spec) for i, spec in enumerate(PANELS)],
    }


if __name__ == "__main__":
    out = Path(__file__).parent / "grafana" / "dashboards" / "partpulse.json"
    out.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(out)
