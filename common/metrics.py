"""Prometheus metrics for the gateways and the workers: every series PartPulse exports lives here.

Gateway (``GET /metrics`` on each gateway, its own registry):
  partpulse_events_total{event_type,state}  events by type and current state, one GROUP BY per scrape
  partpulse_outbox_pending                   events not yet handled (PENDING or QUEUED)
  partpulse_unroutable_pending               open events of types this release does not know
  partpulse_queue_depth{queue}               messages waiting in each Celery queue (Redis LLEN)
  partpulse_delivery_seconds                 event written -> its socket message reached this gateway
  partpulse_sockets_connected                sockets connected to this gateway

Worker host (``WORKER_METRICS_PORT``, the pool's processes aggregated):
  partpulse_event_lag_seconds                event written -> handled
  partpulse_handler_seconds{event_type}      time spent handling one event

A worker host aggregates its pool with prometheus-client's multiprocess mode:
``PROMETHEUS_MULTIPROC_DIR`` is set by the start-up script where it can be
(docker-compose), else ``workers/__init__.py`` makes a temporary one
(``prepare_worker_host``), for ``celery worker`` only, never for a gateway. The HTTP server runs in the
worker's main process (Celery's ``worker_ready`` signal), and each pool
process that exits is marked dead (``worker_process_shutdown``).
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Gauge, Histogram
    from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets in seconds: a few ms on a quiet stack up to minutes for an
# event that waited for a broker outage or a redelivery.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
HANDLER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# events_total and the outbox are read from the database at scrape time; two
# Prometheus servers (or a dashboard refresh storm) within this window share one read.
SCRAPE_CACHE_SECONDS = 1.0


# --------------------------------------------------------------------------- worker host


def _is_celery_worker_command(argv: list[str]) -> bool:
    # `celery -A workers worker ...` or `python -m celery -A workers worker ...`
    return bool(argv) and "celery" in argv[0] and "worker" in argv[1:]


def prepare_worker_host(argv: list[str] | None = None) -> str | None:
    """Give this worker host its own PROMETHEUS_MULTIPROC_DIR, before prometheus_client is imported.

    Called at the top of ``workers/__init__.py``. Only a ``celery ... worker``
    process gets one (a gateway or a test importing the workers package does
    not). A directory the operator set is used as it is (it is emptied at
    worker start); otherwise a fresh temporary directory is made, so two
    worker hosts on one machine never share files. Pool processes inherit it.
    """
    argv = sys.argv if argv is None else argv
    if not _is_celery_worker_command(argv):
        return None
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        path = tempfile.mkdtemp(prefix="partpulse-worker-metrics-")
        os.environ[MULTIPROC_ENV] = path
        _remove_at_exit(path)
        if "prometheus_client" in sys.modules:
            # Celery's CLI loads Flower's command plugin, which imports
            # prometheus_client before our app, so the client already chose
            # in-process values. Our metrics are created lazily, later: point
            # the client's value class at the files now. (prometheus-client
            # 0.2x; tests/integration/test_operations.py fails if this stops working.)
            from prometheus_client import values

            values.ValueClass = values.get_value_class()
    return path


def _remove_at_exit(path: str) -> None:
    """The directory made here goes when the worker's main process exits (never a pool process's exit)."""
    import atexit
    import shutil

    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)


@lru_cache
def _worker_metrics() -> tuple[Histogram, Histogram]:
    from prometheus_client import Histogram

    # registry=None: in multiprocess mode the values live in files that the
    # main process's MultiProcessCollector reads; nothing registers in-process.
    lag = Histogram(
        "partpulse_event_lag_seconds",
        "Event written to the outbox -> handled by a worker",
        buckets=LATENCY_BUCKETS,
        registry=None,
    )
    handler = Histogram(
        "partpulse_handler_seconds",
        "Time a worker spent handling one event",
        ["event_type"],
        buckets=HANDLER_BUCKETS,
        registry=None,
    )
    return lag, handler


def observe_event_handled(event_type: str, written_at: datetime | str | None, handler_seconds: float) -> None:
    """Record one handled event: its lag since it was written, and the handler's own time."""
    try:
        lag, handler = _worker_metrics()
        handler.labels(event_type=event_type).observe(max(0.0, handler_seconds))
        written = _as_datetime(written_at)
        if written is not None:
            lag.observe(max(0.0, time.time() - written.timestamp()))
    except Exception:  # metrics never break event handling
        log.exception("could not record worker metrics")


def worker_registry() -> CollectorRegistry:
    """The registry a worker host serves: every pool process's files, aggregated."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    return registry


def clear_multiprocess_dir() -> None:
    """Remove what earlier runs left (the client's docs: wipe the directory between runs)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path and os.path.isdir(path):
        for name in glob.glob(os.path.join(path, "*.db")):
            os.remove(name)


def start_worker_metrics_server(port: int, addr: str = "127.0.0.1") -> bool:
    """Serve this worker host's metrics; a port already taken is logged, never fatal."""
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=addr, registry=worker_registry())
    except OSError as exc:
        log.warning("worker metrics not served: port %s is not free (%s)", port, exc)
        return False
    log.info("worker metrics on http://%s:%s/metrics", addr, port)
    return True


def mark_worker_process_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --------------------------------------------------------------------------- gateway


class OutboxCollector:
    """events_total, outbox_pending and queue_depth, read when Prometheus scrapes.

    One GROUP BY over the event log and one pipelined LLEN per scrape, shared
    for SCRAPE_CACHE_SECONDS. The counts are gauges: a state's count can go
    down (an event leaves PENDING), though each type's sum over states only grows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached_at = 0.0
        self._cached: list[Any] = []

    def collect(self) -> Iterator[Any]:
        with self._lock:
            if time.monotonic() - self._cached_at > SCRAPE_CACHE_SECONDS:
                self._cached = list(self._read())
                self._cached_at = time.monotonic()
            yield from self._cached

    def _read(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from common.db import get_sessionmaker
        from common.models import DeliveryState, EventLog

        events = GaugeMetricFamily(
            "partpulse_events_total",
            "Events in the event log by type and current state",
            labels=["event_type", "state"],
        )
        pending = GaugeMetricFamily("partpulse_outbox_pending", "Events not yet handled (PENDING or QUEUED)")
        with get_sessionmaker()() as session:
            rows = session.execute(
                select(EventLog.event_type, EventLog.state, func.count()).group_by(
                    EventLog.event_type, EventLog.state
                )
            ).all()
        from common.events.relay import KNOWN_TYPES

        unroutable = GaugeMetricFamily(
            "partpulse_unroutable_pending", "Open events of types this release does not know (they wait)"
        )
        waiting = [0, 0]  # known types, unknown types
        for event_type, state, count in rows:
            events.add_metric([event_type, state], count)
            if state in (DeliveryState.PENDING, DeliveryState.QUEUED):
                waiting[event_type not in KNOWN_TYPES] += count
        pending.add_metric([], waiting[0])
        unroutable.add_metric([], waiting[1])
        yield events
        yield pending
        yield unroutable
        depth = queue_depths()
        if depth is not None:
            family = GaugeMetricFamily(
                "partpulse_queue_depth", "Messages waiting in each Celery queue", labels=["queue"]
            )
            for queue, n in depth.items():
                family.add_metric([queue], n)
            yield family


def queue_depths() -> dict[str, int] | None:
    """LLEN of each Celery queue in Redis (kombu keeps a list per queue and priority); None standalone."""
    from common.config import get_settings
    from common.events.types import ALL_QUEUES

    settings = get_settings()
    if not settings.distributed:
        return None
    from common.redis_client import RedisUse, redis_client

    # kombu's Redis transport: priority 0 is the queue's own key, the others
    # carry a separator and the priority (the default steps are 0, 3, 6, 9).
    suffixes = ["", "\x06\x163", "\x06\x166", "\x06\x169"]
    client = redis_client(RedisUse.PROBE)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in ALL_QUEUES:
            for suffix in suffixes:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    n = len(suffixes)
    return {queue: sum(lengths[i * n : (i + 1) * n]) for i, queue in enumerate(ALL_QUEUES)}


class GatewayMetrics:
    """This gateway's registry: the outbox collector, delivery latency and connected sockets."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        collector: Collector = OutboxCollector()  # type: ignore[assignment]
        self.registry.register(collector)
        self.delivery: Histogram = Histogram(
            "partpulse_delivery_seconds",
            "Event written -> its socket message reached this gateway",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sockets: Gauge = Gauge(
            "partpulse_sockets_connected", "Sockets connected to this gateway", registry=self.registry
        )
        # Issue 21: the accounts this gateway read to check its sockets (the slow sweep,
        # the re-check after a catch-up); a deactivation notice reads none.
        self.account_checks: Counter = Counter(
            "partpulse_socket_account_checks",
            "Users' accounts read from the database to check this gateway's sockets",
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


@lru_cache
def gateway_metrics() -> GatewayMetrics:
    return GatewayMetrics()


def socket_connected() -> None:
    gateway_metrics().sockets.inc()


def socket_disconnected() -> None:
    gateway_metrics().sockets.dec()


# The socket events whose payload says when their event was written.
_TIMED_EVENTS = frozenset({"notification", "system_event"})


def observe_socket_message(message: dict[str, Any]) -> None:
    """Hook for the gateway's pub/sub manager: one message from the shared channel reached us.

    Observes ``notification`` (``metadata.occurred_at``, else ``timestamp``) and
    ``system_event`` (``timestamp``); every other message is ignored.
    """
    try:
        if message.get("method") != "emit" or message.get("event") not in _TIMED_EVENTS:
            return
        data = message.get("data")
        payload = data[0] if isinstance(data, list) and data else None
        if not isinstance(payload, dict):
            return
        meta = payload.get("metadata")
        written = (meta.get("occurred_at") if isinstance(meta, dict) else None) or payload.get("timestamp")
        at = _as_datetime(written)
        if at is not None:
            gateway_metrics().delivery.observe(max(0.0, time.time() - at.timestamp()))
    except Exception:  # metrics never break delivery
        log.debug("could not observe a socket message", exc_info=True)


def log_catch_up(messages: list[tuple[str, dict[str, Any], str]], since: float) -> None:
    """One JSON line per catch-up: which notifications (ids) went to users' rooms again."""
    try:
        from common.logjson import json_logger

        json_logger("partpulse.gateway").info(
            "catch-up after the Redis subscription came back",
            extra={
                "since": datetime.fromtimestamp(since, UTC).isoformat(),
                "notification_ids": [d.get("id") for event, d, _ in messages if event == "notification"],
                "rooms": len({room for _, _, room in messages}),
                "messages": len(messages),
            },
        )
    except Exception:  # a log line never stops the catch-up
        log.debug("could not log the catch-up", exc_info=True)


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
