"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

# Before anything imports prometheus_client: a worker host aggregates its pool's
# metrics through files (multiprocess mode), which must be chosen first.
from common.metrics import prepare_worker_host

prepare_worker_host()

from typing import Any  # noqa: E402

from celery.signals import worker_ready  # noqa: E402

from common.events import relay  # noqa: E402
from common.events.broker import app  # noqa: E402
from workers import mail, observability, tasks  # noqa: E402,F401  (tasks per event type, email; metrics signals)

celery = app
__all__ = ["app", "celery"]


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    # Every process that runs a relay starts it at process start: a
    # worker-only host still sends leftovers and redelivers what the broker lost.
    relay.start()
