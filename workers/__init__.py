"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

from common.events.broker import app
from workers import tasks  # noqa: F401  (registers one task per event type)

celery = app
__all__ = ["app", "celery"]
