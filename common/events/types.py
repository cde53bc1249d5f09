"""The event catalogue: every event type, what it is about and which queue handles it."""

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    ORDER = "order"
    INVENTORY = "inventory"
    SUPPLIER = "supplier"
    PART = "part"
    USER = "user"


class Queue(StrEnum):
    NOTIFICATIONS = "notifications"
    MATCHING = "matching"
    SCORING = "scoring"
    # Stock alerts come in bursts (a bulk import); a lane of their own keeps
    # order notifications from waiting behind thousands of them.
    STOCK = "stock"
    EMAIL = "email"  # mail sends and the periodic checks (issue 13)


class EventType(StrEnum):
    ORDER_PLACED = "ORDER_PLACED"
    SUPPLIER_MATCHED = "SUPPLIER_MATCHED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_DISPATCHED = "ORDER_DISPATCHED"
    ORDER_IN_TRANSIT = "ORDER_IN_TRANSIT"
    ORDER_DELIVERED = "ORDER_DELIVERED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    LOW_STOCK_ALERT = "LOW_STOCK_ALERT"
    DELIVERY_PLANNED = "DELIVERY_PLANNED"
    DELIVERY_COMPLETED = "DELIVERY_COMPLETED"
    ETA_UPDATED = "ETA_UPDATED"
    MATCHING_FAILED = "MATCHING_FAILED"
    ORDER_ESCALATED = "ORDER_ESCALATED"
    ETA_DISPUTED = "ETA_DISPUTED"  # the buyer disputes an ETA from its notification (issue 23)


@dataclass(frozen=True)
class EventSpec:
    entity_type: EntityType
    queue: Queue
    order_status: str | None = None  # the status an order reaches with this event


_ORDER = EntityType.ORDER
_NOTIFY = Queue.NOTIFICATIONS

CATALOGUE: dict[EventType, EventSpec] = {
    EventType.ORDER_PLACED: EventSpec(_ORDER, Queue.MATCHING, "PLACED"),
    EventType.SUPPLIER_MATCHED: EventSpec(_ORDER, _NOTIFY, "MATCHED"),
    EventType.ORDER_CONFIRMED: EventSpec(_ORDER, _NOTIFY, "CONFIRMED"),
    EventType.ORDER_DISPATCHED: EventSpec(_ORDER, _NOTIFY, "DISPATCHED"),
    EventType.ORDER_IN_TRANSIT: EventSpec(_ORDER, _NOTIFY, "IN_TRANSIT"),
    EventType.ORDER_DELIVERED: EventSpec(_ORDER, Queue.SCORING, "DELIVERED"),
    EventType.ORDER_CANCELLED: EventSpec(_ORDER, _NOTIFY, "CANCELLED"),
    EventType.LOW_STOCK_ALERT: EventSpec(EntityType.INVENTORY, Queue.STOCK),
    EventType.DELIVERY_PLANNED: EventSpec(_ORDER, _NOTIFY),
    EventType.DELIVERY_COMPLETED: EventSpec(_ORDER, _NOTIFY),
    EventType.ETA_UPDATED: EventSpec(_ORDER, _NOTIFY),
    EventType.MATCHING_FAILED: EventSpec(_ORDER, _NOTIFY),
    EventType.ORDER_ESCALATED: EventSpec(_ORDER, _NOTIFY),
    EventType.ETA_DISPUTED: EventSpec(_ORDER, _NOTIFY),
}

ALL_QUEUES = [q.value for q in Queue]


# The event types this release knows: a relay claims only these (rows of a type a
# newer release added wait for it), and only these can be replayed.
KNOWN_TYPES = sorted(t.value for t in CATALOGUE)


def spec_for(event_type: str) -> EventSpec:
    return CATALOGUE[EventType(event_type)]
