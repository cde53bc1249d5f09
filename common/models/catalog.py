from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.models.accounts import Supplier
from common.models.base import Base, UTCDateTime, loaded_attribute, utcnow


class Part(Base):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))


class InventoryItem(Base):
    """One supplier's stock of one part."""

    __tablename__ = "inventory"
    __table_args__ = (
        UniqueConstraint("supplier_id", "part_id", name="uq_inventory_supplier_part"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # Read-only, for the inventory pages.
    part: Mapped[Part] = relationship(viewonly=True)
    supplier: Mapped[Supplier] = relationship(viewonly=True)

    # Only what was loaded (never a lazy load after the session closed); None otherwise.
    @property
    def part_name(self) -> str | None:
        return loaded_attribute(self, "part", "name")

    @property
    def part_sku(self) -> str | None:
        return loaded_attribute(self, "part", "sku")

    @property
    def supplier_name(self) -> str | None:
        return loaded_attribute(self, "supplier", "name")

    @property
    def is_low(self) -> bool:
        return self.quantity < self.low_stock_threshold
