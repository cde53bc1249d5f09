"""Socket payloads built from database rows, shared by the workers and the gateway's catch-up."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from common.models import EventLog, Notification


def notification_payload(
    row: Notification | Row[Any], actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The `notification` message: from an ORM object or a Core row of the same names.

    `actions` as common.services.actions computed them (the workers do; [] when not given).
    """
    return {
        "id": row.id,
        "event_type": row.event_type,
        "title": row.title,
        "message": row.message,
        "metadata": row.notification_metadata,
        "link": row.link,
        "is_read": row.is_read,
        "archived": row.archived,  # a replay or catch-up carries the row's real state (CONTRACT section 8)
        "timestamp": row.created_at.isoformat(),
        # issue 24 (CONTRACT section 8)
        "category": row.category,
        "severity": row.severity,
        "seen": row.seen,
        "snoozed_until": _iso(row.snoozed_until),
        "resurfaced_at": _iso(row.resurfaced_at),
        "position": row.position if row.position is not None else row.id,
        "actions": actions or [],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def event_state_payload(event: EventLog) -> dict[str, Any]:
    """The `event_state` message the admin event log follows (from the workers and the replay route)."""
    return {
        "event_id": event.id,
        "state": event.state,
        "attempts": event.attempts,
        "error": event.error,
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
    }
