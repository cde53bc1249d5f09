from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from common.models.base import Base, JSONType, UTCDateTime, utcnow


class DeliveryState(StrEnum):
    """Where an event is in the outbox: recorded, handed to the broker, handled, or failed."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class EventLog(Base):
    __tablename__ = "event_logs"
    __table_args__ = (
        Index("ix_event_logs_created", "created_at"),
        Index("ix_event_logs_type_created", "event_type", "created_at"),
        Index("ix_event_logs_type_id", "event_type", "id"),
        Index("ix_event_logs_entity", "entity_type", "entity_id", "created_at"),
        Index(
            "ix_event_logs_pending",
            "id",
            postgresql_where=text("state = 'PENDING'"),
            sqlite_where=text("state = 'PENDING'"),
        ),
        Index(
            "ix_event_logs_redeliver",
            "redeliver_at",
            postgresql_where=text("state = 'QUEUED'"),
            sqlite_where=text("state = 'QUEUED'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    event_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many times the relay handed this event to the broker, and when a
    # QUEUED event not handled by then is handed over again: the wait is
    # EVENT_REDELIVER_SECONDS * 2**(sends - 1), so a slow backlog is not flooded.
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    redeliver_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        # The unread count: archived rows leave it.
        Index(
            "ix_notifications_user_unread",
            "user_id",
            postgresql_where=text("NOT is_read AND NOT archived"),
            sqlite_where=text("NOT is_read AND NOT archived"),
        ),
        # The inbox and the archive, newest first by id, paged by cursor.
        Index("ix_notifications_user_archived_id", "user_id", "archived", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event_logs.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    notification_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    link: Mapped[str | None] = mapped_column(String(200))
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
