from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.events.kinds import category_of, default_severity
from common.models.base import Base, JSONType, UTCDateTime, utcnow


def _category_default(context: Any) -> str:
    return category_of(context.get_current_parameters()["event_type"])


def _severity_default(context: Any) -> str:
    return default_severity(context.get_current_parameters()["event_type"])


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
        # The operator's state filter (newest first by id), and /api/health's outbox count.
        Index("ix_event_logs_state_id", "state", "id"),
        Index(
            "ix_event_logs_pending",
            "id",
            postgresql_where=text("state = 'PENDING'"),
            sqlite_where=text("state = 'PENDING'"),
        ),
        # The gateways' catch-up: orders whose event was handled in its window (migration 0014).
        Index("ix_event_logs_processed", "processed_at"),
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


def _partial(where: str) -> dict[str, Any]:
    """A partial index's predicate, on both databases."""
    return {"postgresql_where": text(where), "sqlite_where": text(where)}


# The text ?q= searches, as PostgreSQL indexes it (ix_notifications_search).
SEARCH_DOCUMENT = "to_tsvector('simple'::regconfig, (title::text || ' '::text) || message)"


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
        # Every notification about one order or stock row (threads; action states).
        Index("ix_notifications_entity", "entity_type", "entity_id"),
        # issue 24: lists, threads and cursors by position (= id until a row resurfaces).
        # Partial: the lists and their totals leave snoozed rows out, so both stay index-only.
        Index(
            "ix_notifications_user_position",
            "user_id",
            "archived",
            text("coalesce(position, id)"),
            **_partial("snoozed_until IS NULL"),
        ),
        Index("ix_notifications_user_thread", "user_id", "entity_type", "entity_id"),
        # Beat's due rows across users, and one user's snoozed list (?snoozed=true).
        Index(
            "ix_notifications_snoozed_until",
            "snoozed_until",
            "user_id",
            **_partial("snoozed_until IS NOT NULL"),
        ),
        # Search (?q=) on PostgreSQL; SQLite matches by hand (common/db.py).
        Index("ix_notifications_search", text(SEARCH_DOCUMENT), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        # The gateways' catch-up: rows read or archived in its window (migration 0014).
        Index(
            "ix_notifications_read_at",
            "read_at",
            postgresql_where=text("read_at IS NOT NULL"),
            sqlite_where=text("read_at IS NOT NULL"),
        ),
        Index(
            "ix_notifications_archived_at",
            "archived_at",
            postgresql_where=text("archived_at IS NOT NULL"),
            sqlite_where=text("archived_at IS NOT NULL"),
        ),
        # The inbox tabs and the severity filter (issue 23), newest first by id.
        Index("ix_notifications_user_category_id", "user_id", "archived", "category", "id"),
        Index("ix_notifications_user_severity_id", "user_id", "archived", "severity", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # NULL once retention purged the event; the row (an unread one, say) stays.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event_logs.id", ondelete="SET NULL"))
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
    # What the notification is about: the event's entity (an order, a stock row).
    entity_type: Mapped[str | None] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    # CONTRACT section 8: the inbox tab and the weight of the news. Filled from
    # the event type when an INSERT does not say (Core inserts included).
    category: Mapped[str] = mapped_column(String(10), default=_category_default)
    severity: Mapped[str] = mapped_column(String(10), default=_severity_default)
    # Seen: shown to the user (read implies seen); rows from before round three are seen.
    seen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # issue 22: the catalogue entry (common/i18n/catalogues) and its self-contained params that
    # each reader's title and message are rendered from; NULL (rows from before): the stored text.
    message_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    message_params: Mapped[dict[str, Any] | None] = mapped_column("params", JSONType, nullable=True)
    # issue 24: where the row sorts (NULL = its id); a resurfaced row takes a fresh
    # value of the id sequence. A snoozed row is out of the list and the counts.
    position: Mapped[int | None] = mapped_column(BigInteger)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resurfaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def sort_position(self) -> int:
        return self.position if self.position is not None else self.id
