from common.models.accounts import Factory, Role, Supplier, User
from common.models.base import Base, utcnow
from common.models.catalog import InventoryItem, Part
from common.models.events import DeliveryState, EventLog, Notification
from common.models.inbox import IdempotencyKey, NotificationPreference
from common.models.mail import (
    EscalationReason,
    MailDigestItem,
    MailKind,
    MailOutbox,
    MailState,
    OrderEscalation,
)
from common.models.orders import Delivery, Order, OrderItem, OrderStatus, OrderStatusChange

__all__ = [
    "Base",
    "Delivery",
    "DeliveryState",
    "EscalationReason",
    "EventLog",
    "Factory",
    "IdempotencyKey",
    "InventoryItem",
    "MailDigestItem",
    "MailKind",
    "MailOutbox",
    "MailState",
    "Notification",
    "NotificationPreference",
    "Order",
    "OrderEscalation",
    "OrderItem",
    "OrderStatus",
    "OrderStatusChange",
    "Part",
    "Role",
    "Supplier",
    "User",
    "utcnow",
]
