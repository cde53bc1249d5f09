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
    # On HOST, like the gateway: 127.0.0.1 unless the deployment opens it
    # (docker-compose sets HOST=0.0.0.0 for workers so Prometheus reaches them).
    settings = get_settings()
    metrics.start_worker_metrics_server(settings.worker_metrics_port, addr=settings.host)


@worker_process_shutdown.connect
def _process_gone(pid: int | None = None, **_: Any) -> None:
    metrics.mark_worker_process_dead(pid or os.getpid())


def batch_handled(
    summaries: list[dict[str, Any]], *, task_id: str | None, task_try: int, seconds: float
) -> None:
    """Metrics and one JSON log line for each event a task handled.

    A task handles a batch of events of one type in one transaction; each
    event is charged an equal share of the batch's time. ``summaries`` are
    what workers.pipeline.handle_events returns (event_id, event_type,
    attempt, recipients, created_at, replay); events that were already
    processed are not in it.
    """
    if not summaries:
        return
    share = seconds / len(summaries)
    for summary in summaries:
        event_type = str(summary.get("event_type"))
        metrics.observe_event_handled(event_type, summary.get("created_at"), share)
        event_log.info(
            "event handled",
            extra={
                "event_id": summary.get("event_id"),
                "event_type": event_type,
                "task_id": task_id,
                "attempt": summary.get("attempt"),
                "task_try": task_try,
                "duration_ms": round(share * 1000, 2),
                "batch": len(summaries),
                "batch_ms": round(seconds * 1000, 2),
                "recipients": summary.get("recipients", 0),
                "replay": bool(summary.get("replay")),
            },
        )
