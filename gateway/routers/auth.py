from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from common.i18n.messages import negotiate_locale
from common.models import User
from common.schemas.accounts import LoginOut, LoginRequest, TokenOut, UserOut
from common.security import create_access_token
from common.services import accounts
from common.services.errors import Unauthorized
from gateway.deps import CurrentUser, SessionDep
from gateway.errors import THROTTLED, UNAUTHORIZED
from gateway.throttle import client_address, login_throttle

router = APIRouter(prefix="/auth", tags=["auth"])


def _authenticate(session: Session, request: Request, email: str, password: str) -> User:
    """Checks the password under the login throttle: failures count, past the limit 429."""
    throttle = login_throttle()
    address = client_address(request)
    throttle.check(email, address)
    try:
        user = accounts.authenticate(session, email=email, password=password)
    except Unauthorized:
        throttle.failed(email, address)
        raise
    if user.locale is None:  # issue 22: the browser's language, until the user chooses one
        user.locale = negotiate_locale(request.headers.get("accept-language"))
    return user


@router.post("/login", response_model=LoginOut, responses=THROTTLED)
def login(body: LoginRequest, request: Request, session: SessionDep) -> LoginOut:
    user = _authenticate(session, request, body.email, body.password)
    token = create_access_token(user.id, user.role)
    return LoginOut(access_token=token, user=UserOut.model_validate(user))


@router.post(
    "/token", response_model=TokenOut, summary="OAuth2 password login (Swagger)", responses=THROTTLED
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep
) -> TokenOut:
    user = _authenticate(session, request, form.username, form.password)
    return TokenOut(access_token=create_access_token(user.id, user.role))


@router.get("/me", response_model=UserOut, responses=UNAUTHORIZED)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
