"""The Celery app for `celery -A workers worker` and `celery -A workers flower`."""

from common.events.broker import app
from workers import mail, tasks  # noqa: F401  (registers one task per event type, and the email queue's)

celery = app
__all__ = ["app", "celery"]
