"""Socket payloads built from database rows, shared by the workers and the gateway's catch-up."""

from typing import Any

from common.models import Notification


def notification_payload(row: Notification) -> dict[str, Any]:
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
