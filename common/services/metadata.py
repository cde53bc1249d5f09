"""The ids an event carries in its metadata, so every listener knows what it is about."""

from typing import Any

from sqlalchemy.orm import Session

from common.events.types import EntityType
from common.models import InventoryItem, Order, Part, Supplier, User
from common.services.errors import NotFound


def order_ids(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "factory_id": order.factory_id,
        "buyer_id": order.buyer_id,
        "supplier_id": order.supplier_id,
        "status": order.status,
    }


def inventory_ids(item: InventoryItem) -> dict[str, Any]:
    return {
        "inventory_id": item.id,
        "supplier_id": item.supplier_id,
        "part_id": item.part_id,
        "quantity": item.quantity,
        "low_stock_threshold": item.low_stock_threshold,
    }


def entity_ids(session: Session, entity_type: EntityType, entity_id: int) -> dict[str, Any]:
    """The current ids of an entity; NotFound when it does not exist."""
    if entity_type == EntityType.ORDER:
        order = session.get(Order, entity_id)
        if order is not None:
            return order_ids(order)
    elif entity_type == EntityType.INVENTORY:
        item = session.get(InventoryItem, entity_id)
        if item is not None:
            return inventory_ids(item)
    else:
        model = {EntityType.SUPPLIER: Supplier, EntityType.PART: Part, EntityType.USER: User}
        if session.get(model[entity_type], entity_id) is not None:
            return {f"{entity_type.value}_id": entity_id}
    raise NotFound(f"No {entity_type.value} with id {entity_id}")
