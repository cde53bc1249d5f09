"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

# Before anything imports prometheus_client: a worker host aggregates its pool's
# metrics through files (multiprocess mode), which must be chosen first.
from common.metrics import prepare_worker_host

prepare_worker_host()

from common.events.broker import app  # noqa: E402
from workers import observability, tasks  # noqa: E402,F401  (signals; one task per event type)

celery = app
__all__ = ["app", "celery"]
