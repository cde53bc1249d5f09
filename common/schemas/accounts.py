from typing import Annotated

from pydantic import Field, model_validator

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
    is_active: bool


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


class UserUpdate(InputModel):
    """`PATCH /api/users/{id}`: the fields given change; a field left out stays."""

    full_name: Name | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> "UserUpdate":
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self
