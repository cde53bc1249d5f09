"""The unread counters: a compacted total per user and the changes appended since (common.services.unread)."""

from sqlalchemy import BigInteger, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from common.models.base import Base

# The counted dimensions, in the order of both tables' columns.
COUNTER_COLUMNS = (
    "unread",
    "unseen",
    "orders",
    "stock",
    "system",
    "critical",
    "high",
    "normal",
    "low",
)


class _Counters:
    unread: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unseen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stock: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    system: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    critical: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    high: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    normal: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    low: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UnreadTotal(_Counters, Base):
    """A user's counts and version as of the last compaction; only the compactor updates it."""

    __tablename__ = "unread_totals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class UnreadChange(_Counters, Base):
    """One committed change of a user's unread state: signed differences, appended, never updated."""

    __tablename__ = "unread_changes"
    __table_args__ = (Index("ix_unread_changes_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
