from typing import Annotated

from pydantic import Field

from common.models import Role
from common.schemas.base import InputModel, OutputModel

Name = Annotated[str, Field(min_length=1, max_length=200)]
# A plain shape check: the platform's demo domain (.test) is a reserved name that
# strict validators refuse.
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class LoginRequest(InputModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=200)


class UserOut(OutputModel):
    id: int
    email: str
    full_name: str
    role: Role
    factory_id: int | None
    supplier_id: int | None


class TokenOut(OutputModel):
    access_token: str
    token_type: str = "bearer"


class LoginOut(TokenOut):
    user: UserOut


class UserCreate(InputModel):
    email: Email
    password: str = Field(min_length=8, max_length=72)
    full_name: Name
    role: Role
    factory_id: int | None = None
    supplier_id: int | None = None
