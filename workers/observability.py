"""A worker host's metrics endpoint and the structured event-handled log (issue 11).

The Prometheus endpoint is served by the worker's main process on
WORKER_METRICS_PORT and aggregates the pool's processes (multiprocess mode,
see common/metrics.py). Each handled event writes one JSON line on the
``partpulse.events`` logger.
"""

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_shutdown, worker_ready

from common import metrics
from common.config import get_settings
from common.logjson import json_logger

log = logging.getLogger(__name__)
event_log = json_logger("partpulse.events")


@worker_init.connect
def _clear_metrics(**_: Any) -> None:
    # Main process, before the pool forks: nothing left from an earlier run.
    metrics.clear_multiprocess_dir()


@worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    metrics.start_worker_metrics_server(get_settings().worker_metrics_port)


@worker_process_shutdown.connect
def _process_gone(pid: int | None = None, **_: Any) -> None:
    metrics.mark_worker_process_dead(pid or os.getpid())


def event_handled(
    outcome: dict[str, Any], *, event_type: str, task_id: str | None, attempt: int, seconds: float
) -> None:
    """Metrics and one JSON log line for one event a task handled (or skipped)."""
    skipped = outcome.get("skipped")
    if not skipped:
        metrics.observe_event_handled(event_type, outcome.get("written_at"), seconds)
    event_log.info(
        "event handled" if not skipped else "event skipped",
        extra={
            "event_id": outcome.get("event_id"),
            "event_type": event_type,
            "task_id": task_id,
            "attempt": attempt,
            "event_attempts": outcome.get("attempts"),
            "duration_ms": round(seconds * 1000, 2),
            "recipients": outcome.get("notified", 0),
            **({"skipped": skipped} if skipped else {}),
        },
    )
