"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

# Before anything imports prometheus_client: a worker host aggregates its pool's
# metrics through files (multiprocess mode), which must be chosen first.
from common.metrics import prepare_worker_host

prepare_worker_host()

import gc  # noqa: E402
from typing import Any  # noqa: E402

from celery.signals import worker_init, worker_ready  # noqa: E402

from common.events import relay  # noqa: E402
from common.events.broker import app  # noqa: E402
from workers import mail, observability, tasks  # noqa: E402,F401  (tasks per event type, email; metrics signals)

celery = app
__all__ = ["app", "celery"]


@worker_init.connect
def _freeze_startup_objects(**_: Any) -> None:
    # Before the pool forks: what is loaded by now lives as long as the process.
    # Frozen, it is left out of every GC pass (and its pages stay shared with the pool).
    gc.collect()
    gc.freeze()


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    # Every process that runs a relay starts it at process start: a
    # worker-only host still sends leftovers and redelivers what the broker lost.
    relay.start()
