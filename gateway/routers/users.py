from typing import Annotated

from fastapi import APIRouter, Path, status

from common.schemas.accounts import UserCreate, UserOut, UserUpdate
from common.schemas.base import Page
from common.services import accounts
from gateway.deps import AdminUser, Limit, Offset, SessionDep
from gateway.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND

router = APIRouter(prefix="/users", tags=["users"], responses=AUTH_RESPONSES)

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/", response_model=Page[UserOut])
def list_users(session: SessionDep, _admin: AdminUser, limit: Limit = 20, offset: Offset = 0):
    return accounts.list_users(session, limit=limit, offset=offset)


@router.post(
    "/", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses={**CONFLICT, **NOT_FOUND}
)
def create_user(body: UserCreate, session: SessionDep, _admin: AdminUser) -> UserOut:
    user = accounts.create_user(
        session,
        email=str(body.email),
        password=body.password,
        full_name=body.full_name,
        role=body.role,
        factory_id=body.factory_id,
        supplier_id=body.supplier_id,
        is_manager=body.is_manager,
    )
    return UserOut.model_validate(user)


@router.patch("/{user_id}", response_model=UserOut, responses={**CONFLICT, **NOT_FOUND})
def update_user(user_id: UserId, body: UserUpdate, session: SessionDep, admin: AdminUser) -> UserOut:
    """Rename a user, or deactivate one (`is_active: false`): its tokens stop working at once,
    its open sockets are disconnected within seconds on every gateway, and it is told nothing more."""
    user = accounts.update_user(
        session,
        admin,
        user_id,
        full_name=body.full_name,
        is_active=body.is_active,
        is_manager=body.is_manager,
    )
    return UserOut.model_validate(user)
