"""One Celery task per event type; the task's name is the event's name.

A task carries a list of event ids of its type (the relay batches them); an
older message carrying a single id is still understood.
"""

from typing import Any

from celery import Task
from sqlalchemy.exc import DBAPIError, OperationalError

from common.events.broker import app
from common.events.types import CATALOGUE
from workers.pipeline import handle_events, record_failure

# Errors worth another try: the database or Redis blinked.
TRANSIENT = (OperationalError, DBAPIError, ConnectionError, TimeoutError, OSError)


def event_ids_of(args: Any) -> list[int]:
    if not args:
        return []
    first = args[0]
    return [int(i) for i in first] if isinstance(first, list | tuple) else [int(first)]


class EventTask(Task):  # type: ignore[misc]
    autoretry_for = TRANSIENT
    max_retries = 5
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        record_failure(event_ids_of(args), f"{type(exc).__name__}: {exc}")


def _register(event_type: str) -> None:
    @app.task(name=event_type, base=EventTask, bind=True)
    def handle(self: Task, event_ids: list[int] | int) -> list[dict[str, Any]]:
        return handle_events(event_ids_of([event_ids]))


for _event_type in CATALOGUE:
    _register(_event_type.value)
