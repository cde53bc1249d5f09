from common.models.accounts import Factory, OrganisationCalendar, Role, Supplier, User
from common.models.actions import EventAction, OrderExclusion
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
from common.models.unread import UnreadChange, UnreadTotal

__all__ = [
    "Base",
    "Delivery",
    "DeliveryState",
    "EscalationReason",
    "EventAction",
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
    "OrderExclusion",
    "OrderItem",
    "OrderStatus",
    "OrderStatusChange",
    "OrganisationCalendar",
    "Part",
    "Role",
    "Supplier",
    "UnreadChange",
    "UnreadTotal",
    "User",
    "utcnow",
]
