"""The ids an event carries in its metadata, so every listener knows what it is about."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from common.events.types import EntityType
from common.models import InventoryItem, Order, Part, Supplier, User
from common.schemas.base import OUT_OF_RANGE, as_utc
from common.services.errors import NotFound

# The ids an order event carries: metadata key -> column. Read from a loaded
# order (order_ids) or, on the hot path, by a prepared query (entities_ids).
_ORDER_ID_COLUMNS = {
    "order_id": Order.id,
    "factory_id": Order.factory_id,
    "buyer_id": Order.buyer_id,
    "supplier_id": Order.supplier_id,
    "status": Order.status,
}


def order_ids(order: Order) -> dict[str, Any]:
    return {key: getattr(order, column.key) for key, column in _ORDER_ID_COLUMNS.items()}


def inventory_ids(item: InventoryItem) -> dict[str, Any]:
    return {
        "inventory_id": item.id,
        "supplier_id": item.supplier_id,
        "part_id": item.part_id,
        "quantity": item.quantity,
        "low_stock_threshold": item.low_stock_threshold,
    }


_ORDER_IDS = select(*(column.label(key) for key, column in _ORDER_ID_COLUMNS.items())).where(
    Order.id.in_(bindparam("order_ids", expanding=True))
)


def entity_ids(session: Session, entity_type: EntityType, entity_id: int) -> dict[str, Any]:
    """The current ids of an entity; NotFound when it does not exist."""
    found = entities_ids(session, [(entity_type, entity_id)])[0]
    if isinstance(found, NotFound):
        raise found
    return found


def entities_ids(session: Session, entities: list[tuple[EntityType, int]]) -> list[dict[str, Any] | NotFound]:
    """The ids of several entities, in their order; the orders among them in one query.

    The hot path of POST /api/events/: a prepared query for five columns, not an
    ORM load of each order (see common/events/bus.py).
    """
    order_ids = list({entity_id for entity_type, entity_id in entities if entity_type == EntityType.ORDER})
    orders: dict[int, dict[str, Any]] = {}
    if order_ids:
        rows = session.connection().execute(_ORDER_IDS, {"order_ids": order_ids})
        orders = {row.order_id: dict(row._mapping) for row in rows}
    found: list[dict[str, Any] | NotFound] = []
    for entity_type, entity_id in entities:
        if entity_type != EntityType.ORDER:
            found.append(_other_entity_ids(session, entity_type, entity_id))
        elif entity_id in orders:
            found.append(dict(orders[entity_id]))
        else:
            found.append(_not_found(entity_type, entity_id))
    return found


def _other_entity_ids(session: Session, entity_type: EntityType, entity_id: int) -> dict[str, Any] | NotFound:
    if entity_type == EntityType.INVENTORY:
        item = session.get(InventoryItem, entity_id)
        return inventory_ids(item) if item is not None else _not_found(entity_type, entity_id)
    model = {EntityType.SUPPLIER: Supplier, EntityType.PART: Part, EntityType.USER: User}[entity_type]
    if session.get(model, entity_id) is None:
        return _not_found(entity_type, entity_id)
    return {f"{entity_type.value}_id": entity_id}


def _not_found(entity_type: EntityType, entity_id: int) -> NotFound:
    return NotFound(f"No {entity_type.value} with id {entity_id}")


# A manual event's metadata (CONTRACT section 4): at most 16 KB; the keys the
# server reads are optional but typed when given; other keys are kept as they are.
MAX_METADATA_BYTES = 16 * 1024
TIME_KEYS = ("eta", "delivered_at", "needed_by")
TEXT_KEYS = ("reason", "carrier", "tracking_ref")
MAX_TEXT_CHARS = 500


def check_manual_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Returns the metadata unchanged, or raises ValueError saying what is wrong (a 422)."""
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace"))
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes; at most {MAX_METADATA_BYTES} are accepted")
    for key in TIME_KEYS:
        if key in metadata:
            value = metadata[key]
            try:
                if not isinstance(value, str):
                    raise TypeError
                moment = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise ValueError(f"metadata.{key} must be an ISO 8601 time") from None
            try:
                as_utc(moment)
            except ValueError:
                raise ValueError(f"metadata.{key} {OUT_OF_RANGE}") from None
    for key in TEXT_KEYS:
        if key in metadata:
            value = metadata[key]
            if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
                raise ValueError(f"metadata.{key} must be a string of at most {MAX_TEXT_CHARS} characters")
    return metadata
