from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, model_validator

from common.emails import check_address
from common.models import Role
from common.schemas.base import InputModel, OutputModel

Name = Annotated[str, Field(min_length=1, max_length=200)]
# One address, checked by email-validator (common/emails.py): `.test`, the demo
# accounts' domain, is allowed; `a,x@evil.test` (two recipients in To:) is not.
Email = Annotated[str, Field(max_length=320), AfterValidator(check_address)]


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
    # May edit the organisation's calendar (issue 25).
    is_manager: bool = False


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
    is_manager: StrictBool = False


class UserUpdate(InputModel):
    """`PATCH /api/users/{id}`: the fields given change; a field left out stays."""

    full_name: Name | None = None
    is_active: bool | None = None
    is_manager: StrictBool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> "UserUpdate":
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self
