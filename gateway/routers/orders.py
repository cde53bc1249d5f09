from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from common.models import OrderStatus, User
from common.schemas.base import Page
from common.schemas.orders import (
    DeliveryCreate,
    DeliveryOut,
    DeliveryUpdate,
    OrderCreate,
    OrderOut,
    TransitionRequest,
)
from common.services import matching, orders
from gateway.deps import (
    AdminUser,
    BuyerCaller,
    CurrentUser,
    Limit,
    Offset,
    SessionDep,
    SupplierUser,
    in_transaction,
)
from gateway.idempotency import IdempotencyDep, run_once

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("/", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
async def place_order(body: OrderCreate, caller: BuyerCaller, idem: IdempotencyDep):
    """Place an order. With an `Idempotency-Key`, a retry answers the first response again."""

    def handle(session: Session, buyer: User) -> JSONResponse:
        return run_once(
            session,
            buyer.id,
            idem,
            lambda: (
                201,
                OrderOut.model_validate(orders.place_order(session, buyer, body)).model_dump(mode="json"),
            ),
        )

    return await in_transaction(caller, handle)


@router.get("/", response_model=Page[OrderOut])
def list_orders(
    session: SessionDep,
    user: CurrentUser,
    status: OrderStatus | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    return orders.list_orders(session, user, status=status, limit=limit, offset=offset)


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: int, session: SessionDep, user: CurrentUser):
    return orders.get_order(session, user, order_id)


@router.post("/{order_id}/match", response_model=OrderOut, status_code=status.HTTP_202_ACCEPTED)
def rematch(order_id: int, session: SessionDep, _admin: AdminUser):
    """Run matching again for a PLACED order (MATCHING_FAILED is recorded when nobody can fill it)."""
    return matching.match_order(session, order_id)


@router.post("/{order_id}/transitions", response_model=OrderOut)
def move(order_id: int, body: TransitionRequest, session: SessionDep, user: CurrentUser):
    return orders.transition(session, user, order_id, body)


@router.get("/{order_id}/delivery", response_model=DeliveryOut)
def get_delivery(order_id: int, session: SessionDep, user: CurrentUser):
    return orders.get_delivery(session, user, order_id)


@router.post("/{order_id}/delivery", response_model=DeliveryOut, status_code=status.HTTP_201_CREATED)
def plan_delivery(order_id: int, body: DeliveryCreate, session: SessionDep, supplier: SupplierUser):
    return orders.plan_delivery(session, supplier, order_id, body)


@router.patch("/{order_id}/delivery", response_model=DeliveryOut)
def update_eta(order_id: int, body: DeliveryUpdate, session: SessionDep, supplier: SupplierUser):
    return orders.update_eta(session, supplier, order_id, body)
