from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.models.accounts import Factory, Supplier
from common.models.base import Base, UTCDateTime, loaded_attribute, utcnow
from common.models.catalog import Part


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    MATCHED = "MATCHED"
    CONFIRMED = "CONFIRMED"
    DISPATCHED = "DISPATCHED"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_factory_created", "factory_id", "created_at"),
        Index("ix_orders_supplier_created", "supplier_id", "created_at"),
        Index("ix_orders_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLACED)
    factory_id: Mapped[int] = mapped_column(ForeignKey("factories.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    needed_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", order_by="OrderItem.id", cascade="all, delete-orphan"
    )
    status_history: Mapped[list["OrderStatusChange"]] = relationship(
        order_by="OrderStatusChange.id", cascade="all, delete-orphan"
    )
    delivery: Mapped["Delivery | None"] = relationship(uselist=False)
    # Read-only, for the order page (loaded with selectinload, never per row).
    supplier: Mapped[Supplier | None] = relationship(viewonly=True)
    # Read-only, for the workers' notices (joined in bulk, workers/notices.py).
    factory: Mapped[Factory] = relationship(viewonly=True)

    # The read-only properties below look only at what was loaded (never a lazy
    # load: responses are built after the session closed); None when not loaded.
    @property
    def supplier_name(self) -> str | None:
        return loaded_attribute(self, "supplier", "name")

    @property
    def loaded_delivery(self) -> "Delivery | None":
        return self.__dict__.get("delivery")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    order: Mapped[Order] = relationship(back_populates="items")
    part: Mapped[Part] = relationship(viewonly=True)

    @property
    def part_name(self) -> str | None:
        return loaded_attribute(self, "part", "name")

    @property
    def part_sku(self) -> str | None:
        return loaded_attribute(self, "part", "sku")


class OrderStatusChange(Base):
    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    eta: Mapped[datetime] = mapped_column(UTCDateTime())
    carrier: Mapped[str | None] = mapped_column(String(200))
    tracking_ref: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
