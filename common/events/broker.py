"""The Celery application. Workers register tasks on it; every process sends through it."""

from celery import Celery

app = Celery("partpulse")
app.config_from_object("celeryconfig")
