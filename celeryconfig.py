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

# No Celery countdown longer than this (issue 19): Redis hands a message not
# acknowledged within the visibility timeout to a second worker, and a message
# with a countdown is held unacknowledged until it is due. Longer waits live in
# the row (a mail's next_attempt_at, an event's redeliver_at) and a sweep.
MAX_COUNTDOWN_SECONDS = float(broker_transport_options.get("visibility_timeout", 3600)) / 2

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# `periodic` (issue 19): escalations, digests, the mail sweep and purges, on a lane of
# their own, never behind mail (an SMTP outage holds the `email` lane 20 s per connect).
PERIODIC_QUEUE = "periodic"
task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in [*ALL_QUEUES, PERIODIC_QUEUE]
]
task_default_queue = "notifications"

# A task is acknowledged only when it finished; a worker killed mid-task
# leaves it for another worker instead of losing it (requeued at once). The
# event tasks count their deliveries before running (workers/pipeline.py), so
# a task that kills its process every time ends FAILED "worker lost" after
# EVENT_MAX_ATTEMPTS instead of looping.
task_acks_late = True
task_reject_on_worker_lost = True
# Event tasks take milliseconds: take few at a time so a busy worker does not hoard them.
worker_prefetch_multiplier = 4
# CONTRACT section 8: settings; the gateway's catch-up margin reads the hard one.
task_time_limit = _settings.task_time_limit_seconds
task_soft_time_limit = _settings.task_soft_time_limit_seconds
task_track_started = True
worker_send_task_events = _settings.celery_task_events
task_send_sent_event = _settings.celery_sent_events
broker_connection_retry_on_startup = True
worker_hijack_root_logger = False

# E-mail and schedules (issue 13, 19): the mail sends run on the `email` queue,
# so SMTP slowness never delays a notification; the periodic checks on
# `periodic`, so it never delays an escalation either. Celery beat drives the
# periodic ones; an entry that waited longer than its own period is dropped
# (expires), so a beat running while every worker is away does not pile up
# checks. The schedule file lives under var/ (in both modes).
PERIODIC_TASKS = (
    "sweep_mail",
    "send_low_stock_digests",
    "release_held_mail",
    "escalate_orders",
    "purge_idempotency_keys",
    "compact_unread_counts",
    "purge_expired_records",
    "resurface_snoozed",
)
task_routes = {
    "send_mail": {"queue": "email"},
    **{name: {"queue": PERIODIC_QUEUE} for name in PERIODIC_TASKS},
}
beat_schedule = {
    "escalate-orders": {
        "task": "escalate_orders",
        "schedule": _settings.escalation_check_seconds,
        "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.escalation_check_seconds, 1.0)},
    },
    "send-low-stock-digests": {
        "task": "send_low_stock_digests",
        "schedule": _settings.mail_sweep_seconds,
        "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.mail_sweep_seconds, 1.0)},
    },
    # Quiet hours (issue 25): held mails go within a sweep period of their window opening.
    "release-held-mail": {
        "task": "release_held_mail",
        "schedule": _settings.mail_sweep_seconds,
        "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.mail_sweep_seconds, 1.0)},
    },
    "sweep-mail": {
        "task": "sweep_mail",
        "schedule": _settings.mail_sweep_seconds,
        "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.mail_sweep_seconds, 1.0)},
    },
    # Housekeeping on the periodic lane: hourly is plenty for a 24 h window.
    "purge-idempotency-keys": {
        "task": "purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"queue": PERIODIC_QUEUE, "expires": 3600.0},
    },
}
# The unread counts' appended changes folded into the totals (common/services/unread.py):
# a reader's cost is the changes since the last run.
beat_schedule["compact-unread-counts"] = {
    "task": "compact_unread_counts",
    "schedule": _settings.unread_compact_seconds,
    "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.unread_compact_seconds, 1.0)},
}
beat_schedule["purge-expired-records"] = {
    "task": "purge_expired_records",
    "schedule": _settings.retention_check_seconds,
    "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.retention_check_seconds, 1.0)},
}
# Snoozes come back within a second or two of their time (issue 24), claimed by index.
beat_schedule["resurface-snoozed"] = {
    "task": "resurface_snoozed",
    "schedule": _settings.resurface_check_seconds,
    "options": {"queue": PERIODIC_QUEUE, "expires": max(_settings.resurface_check_seconds, 1.0)},
}
beat_schedule_filename = str(_settings.var_dir / "celerybeat-schedule")
