from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from common.db import insert_on_conflict
from common.events.bus import emit_event, emit_events
from common.events.types import EntityType, EventType
from common.models import InventoryItem, Part, utcnow
from common.schemas.catalog import InventoryRow, InventoryUpdate
from common.services.errors import Invalid, NotFound
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


def import_stock(
    session: Session, *, supplier_id: int, rows: list[InventoryRow], actor_id: int | None
) -> int:
    """The bulk import: every row upserted in one statement, one alert per row that crossed below."""
    part_ids = [row.part_id for row in rows]
    repeated = sorted(pid for pid, n in Counter(part_ids).items() if n > 1)
    if repeated:
        raise Invalid(f"Each part may appear once; repeated part_id: {_some(repeated)}")
    known = set(session.scalars(select(Part.id).where(Part.id.in_(part_ids))))
    unknown = sorted(set(part_ids) - known)
    if unknown:
        raise Invalid(f"Unknown part_id: {_some(unknown)}")
    was_low = {
        part_id: quantity < threshold
        for part_id, quantity, threshold in session.execute(
            select(InventoryItem.part_id, InventoryItem.quantity, InventoryItem.low_stock_threshold)
            .where(InventoryItem.supplier_id == supplier_id, InventoryItem.part_id.in_(part_ids))
            .with_for_update()
        )
    }
    now = utcnow()
    values = [{**row.model_dump(), "supplier_id": supplier_id, "updated_at": now} for row in rows]
    base = insert_on_conflict(session, InventoryItem)
    statement = base.on_conflict_do_update(
        index_elements=["supplier_id", "part_id"],
        set_={
            column: base.excluded[column]
            for column in ("quantity", "low_stock_threshold", "unit_price", "lead_time_days", "updated_at")
        },
    ).returning(
        InventoryItem.id, InventoryItem.part_id, InventoryItem.quantity, InventoryItem.low_stock_threshold
    )
    alerts = []
    for item_id, part_id, quantity, threshold in session.execute(statement, values):
        if quantity < threshold and not was_low.get(part_id, False):
            alerts.append(
                (
                    item_id,
                    {
                        "inventory_id": item_id,
                        "supplier_id": supplier_id,
                        "part_id": part_id,
                        "quantity": quantity,
                        "low_stock_threshold": threshold,
                    },
                )
            )
    emit_events(session, EventType.LOW_STOCK_ALERT, EntityType.INVENTORY, alerts, actor_id=actor_id)
    return len(rows)


def stock_ids(session: Session, supplier_id: int, part_ids: list[int]) -> list[tuple[str, int]]:
    """("inventory", id) of the supplier's rows of these parts (one query)."""
    query = select(InventoryItem.id).where(
        InventoryItem.supplier_id == supplier_id, InventoryItem.part_id.in_(part_ids)
    )
    return [("inventory", int(i)) for i in session.scalars(query)]


def _some(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")


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
