"""One Celery task per event type; the task's name is the event's name.

A task carries a list of event ids of its type (the relay batches them); an
older message carrying a single id is still understood.

What fails, and how often, is decided per event in workers.pipeline (classify,
EVENT_MAX_ATTEMPTS); a task never marks its events FAILED wholesale. Celery's
part, which the pins in pyproject.toml hold to (celery 5.7, kombu 5.7):
- acks_late + reject_on_worker_lost: a delivery whose pool process dies is
  requeued at once; the delivery count (taken before the handler ran) bounds
  the loop, and the redelivered batch is split into one task per event;
- a retry is a new message with a countdown of at most half the visibility
  timeout (a longer one would be handed to a second worker by Redis);
- past the hard time limit the message is acknowledged (acks_on_timeout's
  default): the event stays QUEUED and the relay's sweep hands it over again.
"""

import random
import time
from typing import Any

from celery import Task

from common.events.broker import app
from common.events.types import CATALOGUE, spec_for
from workers import observability
from workers.pipeline import handle_events

RETRY_BACKOFF_MAX_SECONDS = 30.0


def event_ids_of(args: Any) -> list[int]:
    if not args:
        return []
    first = args[0]
    return [int(i) for i in first] if isinstance(first, list | tuple) else [int(first)]


def retry_countdown(retries: int) -> float:
    """Doubling from 1 s with jitter, at most 30 s and at most half the visibility timeout."""
    from celeryconfig import MAX_COUNTDOWN_SECONDS

    ceiling = min(RETRY_BACKOFF_MAX_SECONDS, MAX_COUNTDOWN_SECONDS)
    return random.uniform(0.5, 1.0) * min(ceiling, 2.0**retries)


class EventTask(Task):  # type: ignore[misc]
    acks_late = True
    reject_on_worker_lost = True


def _register(event_type: str) -> None:
    queue = spec_for(event_type).queue.value

    @app.task(name=event_type, base=EventTask, bind=True, max_retries=None)
    def handle(self: Task, event_ids: list[int] | int) -> dict[str, int]:
        started = time.perf_counter()
        outcome = handle_events(event_ids_of([event_ids]))
        # --- ops (issue 11): metrics and one JSON line per event handled ---
        observability.batch_handled(
            outcome.summaries,
            task_id=self.request.id,
            task_try=self.request.retries + 1,
            seconds=time.perf_counter() - started,
        )
        for event_id in outcome.split:  # each alone, a task of its own
            app.send_task(event_type, args=[[event_id]], queue=queue)
        if outcome.retry:  # only the events a connection-level error stopped
            raise self.retry(args=[outcome.retry], countdown=retry_countdown(self.request.retries))
        # What Flower shows as the task's result. A short summary: the worker logs
        # the result's repr and ships it in the task-succeeded event, and a list
        # of one dict per event cost a batch more CPU than its UPDATEs.
        return {
            "handled": len(outcome.summaries),
            "notifications": sum(s["recipients"] for s in outcome.summaries),
            "split": len(outcome.split),
        }


for _event_type in CATALOGUE:
    _register(_event_type.value)
