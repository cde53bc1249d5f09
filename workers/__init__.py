"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

# Before anything imports prometheus_client: a worker host aggregates its pool's
# metrics through files (multiprocess mode), which must be chosen first.
from common.metrics import prepare_worker_host

prepare_worker_host()

from typing import Any  # noqa: E402

from celery.signals import beat_init, worker_init, worker_ready  # noqa: E402

from common.db import set_process_role  # noqa: E402
from common.events import relay  # noqa: E402
from common.events.broker import app  # noqa: E402
from workers import housekeeping, mail, observability, tasks  # noqa: E402,F401  (event tasks, email, counts; metrics)

celery = app
__all__ = ["app", "celery"]


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    # Every process that runs a relay starts it at process start: a
    # worker-only host still sends leftovers and redelivers what the broker lost.
    relay.start()


# The database pool is sized by the process's role (common/db.py, PROCESS_POOLS);
# pool processes take theirs when forked.
@worker_init.connect
def _worker_role(**_: Any) -> None:
    set_process_role("worker")


@beat_init.connect
def _beat_role(**_: Any) -> None:
    set_process_role("beat")
