"""Pure logic of common/metrics.py and the JSON log formatter."""

import json
import logging
from datetime import UTC, datetime, timedelta

from common import metrics
from common.logjson import JsonFormatter


def _count() -> float:
    value = metrics.gateway_metrics().registry.get_sample_value("partpulse_delivery_seconds_count")
    return float(value or 0)


def test_delivery_is_timed_from_the_events_write_time() -> None:
    written = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    before = _count()
    registry = metrics.gateway_metrics().registry
    le1 = registry.get_sample_value("partpulse_delivery_seconds_bucket", {"le": "1.0"}) or 0
    metrics.observe_socket_message(
        {"method": "emit", "event": "system_event", "data": [{"event_id": 1, "timestamp": written}]}
    )
    metrics.observe_socket_message(
        {"method": "emit", "event": "notification",
         "data": [{"id": 5, "metadata": {"occurred_at": written}, "timestamp": datetime.now(UTC).isoformat()}]}
    )
    # Other messages carry no event time, and broken ones are ignored.
    metrics.observe_socket_message({"method": "emit", "event": "unread_count", "data": [{"count": 1}]})
    metrics.observe_socket_message({"method": "emit", "event": "system_event", "data": "garbage"})
    metrics.observe_socket_message({"method": "disconnect", "sid": "x"})
    assert _count() == before + 2
    # Both were two seconds old: neither falls in the 1 s bucket (occurred_at wins over timestamp).
    assert (registry.get_sample_value("partpulse_delivery_seconds_bucket", {"le": "1.0"}) or 0) == le1


def test_only_a_celery_worker_gets_a_multiprocess_dir() -> None:
    assert metrics.prepare_worker_host(["/x/bin/uvicorn", "gateway.main:app"]) is None
    assert metrics.prepare_worker_host(["/x/bin/celery", "-A", "workers", "flower"]) is None
    assert metrics.prepare_worker_host(["/x/bin/pytest", "tests/workers"]) is None


def test_json_lines_carry_the_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "partpulse.events", "levelno": logging.INFO, "levelname": "INFO", "msg": "event handled",
         "event_id": 7, "task_id": "abc", "duration_ms": 1.5}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "event handled" and line["event_id"] == 7 and line["task_id"] == "abc"
    assert line["duration_ms"] == 1.5 and line["level"] == "INFO" and "pid" in line and line["ts"].endswith("+00:00")
