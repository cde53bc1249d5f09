"""Socket payloads built from database rows, shared by the workers and the gateway's catch-up."""

from typing import Any

from sqlalchemy import Row

from common.models import EventLog, Notification


def notification_payload(row: Notification | Row[Any]) -> dict[str, Any]:
    """The `notification` message: from an ORM object or a Core row of the same names."""
    return {
        "id": row.id,
        "event_type": row.event_type,
        "title": row.title,
        "message": row.message,
        "metadata": row.notification_metadata,
        "link": row.link,
        "is_read": row.is_read,
        "timestamp": row.created_at.isoformat(),
    }


def event_state_payload(event: EventLog) -> dict[str, Any]:
    """The `event_state` message the admin event log follows (from the workers and the replay route)."""
    return {
        "event_id": event.id,
        "state": event.state,
        "attempts": event.attempts,
        "error": event.error,
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
    }
