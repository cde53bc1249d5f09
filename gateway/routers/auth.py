from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from common.schemas.accounts import LoginOut, LoginRequest, TokenOut, UserCreate, UserOut
from common.security import create_access_token
from common.services import accounts
from gateway.deps import AdminUser, CurrentUser, SessionDep

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=LoginOut)
def login(body: LoginRequest, session: SessionDep) -> LoginOut:
    user = accounts.authenticate(session, email=body.email, password=body.password)
    token = create_access_token(user.id, user.role)
    return LoginOut(access_token=token, user=UserOut.model_validate(user))


@router.post("/auth/token", response_model=TokenOut, summary="OAuth2 password login (Swagger)")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep) -> TokenOut:
    user = accounts.authenticate(session, email=form.username, password=form.password)
    return TokenOut(access_token=create_access_token(user.id, user.role))


@router.get("/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/users/", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, _admin: AdminUser) -> UserOut:
    user = accounts.create_user(
        session,
        email=str(body.email),
        password=body.password,
        full_name=body.full_name,
        role=body.role,
        factory_id=body.factory_id,
        supplier_id=body.supplier_id,
    )
    return UserOut.model_validate(user)
