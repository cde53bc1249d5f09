"""Celery settings, filled from common.config. Plain lowercase names, as Celery expects."""

from kombu import Exchange, Queue

from common.config import get_settings
from common.events.transport import filesystem_connection_options
from common.events.types import ALL_QUEUES

_settings = get_settings()

broker_url = _settings.broker_url
# Results are not kept: nothing reads them, Flower shows task states from
# worker events, and a result backend makes every send subscribe to a result
# channel (measured: it held the relay to ~40 events/s with ~0.9 s latency).
result_backend = None
task_ignore_result = True
if not _settings.distributed:
    broker_transport_options = filesystem_connection_options(_settings, "celery")["transport_options"]
else:
    # The visibility timeout must exceed the longest task (seconds), or Redis
    # would hand a slow task to a second worker.
    broker_transport_options = {
        "visibility_timeout": 600,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ALL_QUEUES]
task_default_queue = "notifications"

# A task is acknowledged only when it finished; a worker killed mid-task
# leaves it for another worker instead of losing it.
task_acks_late = True
task_reject_on_worker_lost = True
# Event tasks take milliseconds: take few at a time so a busy worker does not hoard them.
worker_prefetch_multiplier = 4
task_time_limit = 120
task_soft_time_limit = 100
task_track_started = True
worker_send_task_events = _settings.celery_task_events
task_send_sent_event = _settings.celery_sent_events
broker_connection_retry_on_startup = True
worker_hijack_root_logger = False

# E-mail and schedules (issue 13): the mail tasks and the periodic checks run on
# the `email` queue, so SMTP slowness never delays a notification. Celery beat
# drives the periodic ones; an entry that waited longer than its own period is
# dropped (expires), so a beat running while every worker is away does not pile
# up checks. The schedule file lives under var/ (in both modes).
task_routes = {
    name: {"queue": "email"}
    for name in (
        "send_mail",
        "sweep_mail",
        "send_low_stock_digests",
        "escalate_orders",
        "purge_idempotency_keys",
    )
}
beat_schedule = {
    "escalate-orders": {
        "task": "escalate_orders",
        "schedule": _settings.escalation_check_seconds,
        "options": {"queue": "email", "expires": max(_settings.escalation_check_seconds, 1.0)},
    },
    "send-low-stock-digests": {
        "task": "send_low_stock_digests",
        "schedule": _settings.mail_sweep_seconds,
        "options": {"queue": "email", "expires": max(_settings.mail_sweep_seconds, 1.0)},
    },
    "sweep-mail": {
        "task": "sweep_mail",
        "schedule": _settings.mail_sweep_seconds,
        "options": {"queue": "email", "expires": max(_settings.mail_sweep_seconds, 1.0)},
    },
    # Housekeeping on the email lane (the periodic lane): hourly is plenty for a 24 h window.
    "purge-idempotency-keys": {
        "task": "purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"queue": "email", "expires": 3600.0},
    },
}
beat_schedule_filename = str(_settings.var_dir / "celerybeat-schedule")
