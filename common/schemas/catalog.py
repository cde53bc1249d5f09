from datetime import datetime
from decimal import Decimal

from pydantic import Field

from common.schemas.accounts import Name
from common.schemas.base import InputModel, OutputModel


class NamedCreate(InputModel):
    name: Name


class FactoryOut(OutputModel):
    id: int
    name: str


class SupplierOut(OutputModel):
    id: int
    name: str
    reliability_score: float


class PartCreate(InputModel):
    sku: str = Field(min_length=1, max_length=64)
    name: Name
    category: str | None = Field(default=None, max_length=100)


class PartOut(OutputModel):
    id: int
    sku: str
    name: str
    category: str | None


class InventoryUpdate(InputModel):
    quantity: int = Field(ge=0, le=10_000_000)
    low_stock_threshold: int = Field(ge=0, le=10_000_000)
    unit_price: Decimal = Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    lead_time_days: int = Field(ge=0, le=3650)


class InventoryRow(InventoryUpdate):
    part_id: int = Field(ge=1, le=2_147_483_647)


MAX_IMPORT_ROWS = 5000


class InventoryImport(InputModel):
    """The bulk import an ERP sync sends: every row applied in one transaction, or none."""

    items: list[InventoryRow] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)


class InventoryImportOut(OutputModel):
    updated: int


class InventoryOut(OutputModel):
    id: int
    supplier_id: int
    part_id: int
    quantity: int
    low_stock_threshold: int
    unit_price: Decimal
    lead_time_days: int
    updated_at: datetime
    # Read-only, for people (the web app's inventory pages).
    part_name: str | None = None
    part_sku: str | None = None
    supplier_name: str | None = None
    is_low: bool
