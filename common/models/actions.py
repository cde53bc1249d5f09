"""Acting from a notification (issue 23): what was done on an event's notification, and the
suppliers an order may no longer be matched to."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.models.base import Base, UTCDateTime, utcnow


class EventAction(Base):
    """An action done on the notification of one event: every copy shows it done, by whom, when.

    Actions whose outcome the entity itself records (an order's move: its status
    history) are read from there; this keeps those that leave no other trace
    (accept_eta, dispute_eta, restock, rematch).
    """

    __tablename__ = "event_actions"
    __table_args__ = (UniqueConstraint("event_id", "action", name="uq_event_actions_event_action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event_logs.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrderExclusion(Base):
    """A supplier released from an order (`decline`, or an admin's `rematch`): never matched to it again."""

    __tablename__ = "order_exclusions"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True)
    via: Mapped[str] = mapped_column(String(20))  # decline | rematch
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
