from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.models import InventoryItem, Part
from common.schemas.catalog import InventoryUpdate
from common.services.errors import NotFound
from common.services.metadata import inventory_ids
from common.services.pagination import PageData, paginate


def is_low(item: InventoryItem) -> bool:
    return item.quantity < item.low_stock_threshold


def list_stock(
    session: Session,
    *,
    supplier_id: int | None,
    limit: int,
    offset: int,
    part_id: int | None = None,
) -> PageData[InventoryItem]:
    # Part and supplier names come in one query each for the whole page.
    query = (
        select(InventoryItem)
        .options(selectinload(InventoryItem.part), selectinload(InventoryItem.supplier))
        .order_by(InventoryItem.supplier_id, InventoryItem.part_id)
    )
    if supplier_id is not None:
        query = query.where(InventoryItem.supplier_id == supplier_id)
    if part_id is not None:
        query = query.where(InventoryItem.part_id == part_id)
    return paginate(session, query, limit=limit, offset=offset)


def set_stock(
    session: Session, *, supplier_id: int, part_id: int, data: InventoryUpdate, actor_id: int | None
) -> InventoryItem:
    if session.get(Part, part_id) is None:
        raise NotFound(f"Part {part_id} not found")
    item = session.scalar(
        select(InventoryItem)
        .where(InventoryItem.supplier_id == supplier_id, InventoryItem.part_id == part_id)
        .with_for_update()
    )
    was_low = False
    if item is None:
        item = InventoryItem(supplier_id=supplier_id, part_id=part_id)
        session.add(item)
    else:
        was_low = is_low(item)
    item.quantity = data.quantity
    item.low_stock_threshold = data.low_stock_threshold
    item.unit_price = data.unit_price
    item.lead_time_days = data.lead_time_days
    session.flush()
    alert_if_newly_low(session, [(item, was_low)], actor_id=actor_id)
    # Load the names for the response while the session is open (the part is cached).
    _ = item.part, item.supplier
    return item


def alert_if_newly_low(
    session: Session, changes: Iterable[tuple[InventoryItem, bool]], *, actor_id: int | None
) -> None:
    """Emit LOW_STOCK_ALERT for each row that crossed below its threshold just now."""
    for item, was_low in changes:
        if is_low(item) and not was_low:
            emit_event(
                session,
                EventType.LOW_STOCK_ALERT,
                EntityType.INVENTORY,
                item.id,
                actor_id=actor_id,
                metadata=inventory_ids(item),
            )
