"""One Celery task per event type; the task's name is the event's name."""

import time
from typing import Any

from celery import Task
from sqlalchemy.exc import DBAPIError, OperationalError

from common.events.broker import app
from common.events.types import CATALOGUE
from workers import observability
from workers.pipeline import handle_event, record_failure

# Errors worth another try: the database or Redis blinked.
TRANSIENT = (OperationalError, DBAPIError, ConnectionError, TimeoutError, OSError)


class EventTask(Task):  # type: ignore[misc]
    autoretry_for = TRANSIENT
    max_retries = 5
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if args:
            record_failure(int(args[0]), f"{type(exc).__name__}: {exc}")


def _register(event_type: str) -> None:
    @app.task(name=event_type, base=EventTask, bind=True)
    def handle(self: Task, event_id: int) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = handle_event(event_id)
        # --- ops (issue 11): metrics and the JSON event-handled line ---
        observability.event_handled(
            outcome,
            event_type=event_type,
            task_id=self.request.id,
            attempt=self.request.retries + 1,
            seconds=time.perf_counter() - started,
        )
        return outcome


for _event_type in CATALOGUE:
    _register(_event_type.value)
