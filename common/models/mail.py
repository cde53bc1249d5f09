"""The mail outbox, the low-stock digest's pending items and the escalation record (issue 13)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from common.models.base import Base, UTCDateTime, utcnow


class MailState(StrEnum):
    """PENDING: waiting to be sent (again); SENDING: claimed, its lease ends at next_attempt_at."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    # Quiet hours (issue 25): HELD until not_before, outside the user's e-mail window;
    # MERGED: released together with others as one mail (merged_into_id).
    HELD = "HELD"
    MERGED = "MERGED"


class MailKind(StrEnum):
    SINGLE = "single"  # one mail per notification
    DIGEST = "digest"  # the low-stock digest of one user's period
    BUNDLE = "bundle"  # several held mails released as one (`{n} updates while you were away`)


class MailOutbox(Base):
    """A mail recorded before it is sent; the row is the record, the Celery task only a wake-up."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        # A replayed or redelivered event never writes a second mail (digests have no event).
        UniqueConstraint("event_id", "user_id", name="uq_mail_outbox_event_user"),
        Index(
            "ix_mail_outbox_due",
            "next_attempt_at",
            postgresql_where=text("state IN ('PENDING', 'SENDING')"),
            sqlite_where=text("state IN ('PENDING', 'SENDING')"),
        ),
        # The held-mail release claims due rows by this index (issue 25).
        Index(
            "ix_mail_outbox_held",
            "not_before",
            postgresql_where=text("state = 'HELD'"),
            sqlite_where=text("state = 'HELD'"),
        ),
        # Retention purges sent and failed mails by age.
        Index("ix_mail_outbox_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(10), default=MailKind.SINGLE)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event_logs.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(10), default=MailState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Quiet hours: when a held mail may go (kept after its release, for the event log).
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="SET NULL"), nullable=True
    )


class MailDigestItem(Base):
    """One LOW_STOCK_ALERT waiting for a user's digest; mail_id is set when the digest is written."""

    __tablename__ = "mail_digest_items"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_mail_digest_items_event_user"),
        Index(
            "ix_mail_digest_items_open",
            "due_at",
            "user_id",
            postgresql_where=text("mail_id IS NULL"),
            sqlite_where=text("mail_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event_logs.id", ondelete="SET NULL"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The end of the period the user's first pending alert opened.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"))


class EscalationReason(StrEnum):
    UNCONFIRMED = "unconfirmed"
    PAST_ETA = "past_eta"


class OrderEscalation(Base):
    """At most one ORDER_ESCALATED per order and reason, whatever number of beat processes run."""

    __tablename__ = "order_escalations"
    __table_args__ = (UniqueConstraint("order_id", "reason", name="uq_order_escalations_order_reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event_logs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
