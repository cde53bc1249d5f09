from datetime import datetime
from decimal import Decimal

from pydantic import Field

from common.models import OrderStatus
from common.schemas.base import InputModel, OutputModel, UTCDatetime


class OrderItemIn(InputModel):
    part_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=1_000_000)


class OrderCreate(InputModel):
    items: list[OrderItemIn] = Field(min_length=1, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)
    needed_by: UTCDatetime | None = None


class OrderItemOut(OutputModel):
    id: int
    part_id: int
    quantity: int
    unit_price: Decimal | None
    # Read-only, for people (the web app's order page).
    part_name: str | None = None
    part_sku: str | None = None


class StatusChangeOut(OutputModel):
    status: OrderStatus
    at: datetime


class OrderOut(OutputModel):
    id: int
    status: OrderStatus
    factory_id: int
    buyer_id: int
    supplier_id: int | None
    items: list[OrderItemOut]
    eta: datetime | None
    needed_by: datetime | None
    notes: str | None
    status_history: list[StatusChangeOut]
    created_at: datetime
    # Read-only, for people (the web app's order page).
    supplier_name: str | None = None
    delivery: "DeliveryOut | None" = Field(default=None, validation_alias="loaded_delivery")


class TransitionRequest(InputModel):
    status: OrderStatus
    eta: UTCDatetime | None = None
    reason: str | None = Field(default=None, max_length=500)


class DeliveryCreate(InputModel):
    eta: UTCDatetime
    carrier: str | None = Field(default=None, max_length=200)
    tracking_ref: str | None = Field(default=None, max_length=200)


class DeliveryUpdate(InputModel):
    eta: UTCDatetime


class DeliveryOut(OutputModel):
    id: int
    order_id: int
    eta: datetime
    carrier: str | None
    tracking_ref: str | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


OrderOut.model_rebuild()
