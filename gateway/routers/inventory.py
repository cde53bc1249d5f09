import asyncio

from fastapi import APIRouter, BackgroundTasks

from common.models import Role
from common.schemas.base import Page
from common.schemas.catalog import InventoryImport, InventoryImportOut, InventoryOut, InventoryUpdate
from common.services import actions, inventory
from gateway.deps import Limit, Offset, SessionDep, SupplierOrAdmin, SupplierUser

router = APIRouter(prefix="/inventory", tags=["inventory"])


@router.get("/", response_model=Page[InventoryOut])
def list_stock(
    session: SessionDep,
    user: SupplierOrAdmin,
    part_id: int | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """The caller's stock (admin: every supplier's); `part_id` narrows it to one part."""
    supplier_id = None if user.role == Role.ADMIN else user.supplier_id
    return inventory.list_stock(
        session, supplier_id=supplier_id, part_id=part_id, limit=limit, offset=offset
    )


@router.put("/", response_model=InventoryImportOut)
def import_stock(body: InventoryImport, session: SessionDep, user: SupplierUser, background: BackgroundTasks):
    """The bulk import an ERP sync sends: up to 5,000 rows, one transaction, all or nothing."""
    assert user.supplier_id is not None
    updated = inventory.import_stock(session, supplier_id=user.supplier_id, rows=body.items, actor_id=user.id)
    moved = inventory.stock_ids(session, user.supplier_id, [row.part_id for row in body.items])
    background.add_task(asyncio.to_thread, actions.push_action_states, moved)  # restock states (issue 23)
    return {"updated": updated}


@router.put("/{part_id}", response_model=InventoryOut)
def set_stock(
    part_id: int, body: InventoryUpdate, session: SessionDep, user: SupplierUser, background: BackgroundTasks
):
    assert user.supplier_id is not None
    item = inventory.set_stock(
        session, supplier_id=user.supplier_id, part_id=part_id, data=body, actor_id=user.id
    )
    # After the commit, the holders of its low-stock notifications hear the restock state (issue 23).
    background.add_task(asyncio.to_thread, actions.push_action_states, [("inventory", item.id)])
    return item
