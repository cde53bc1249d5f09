"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

from typing import Any

from celery.signals import worker_ready

from common.events import relay
from common.events.broker import app
from workers import mail, tasks  # noqa: F401  (registers one task per event type, and the email queue's)

celery = app
__all__ = ["app", "celery"]


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    # Every process that runs a relay starts it at process start: a
    # worker-only host still sends leftovers and redelivers what the broker lost.
    relay.start()
