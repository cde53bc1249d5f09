from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

T = TypeVar("T")


def has_bad_text(value: Any) -> bool:
    """True when a string anywhere in the value (keys included) holds a NUL or a lone surrogate.

    PostgreSQL cannot store either (a NUL ends a C string, a lone surrogate is not
    UTF-8), so they are refused at the door as 422, never left to fail as a 500.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_bad_text(k) or has_bad_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_bad_text(v) for v in value)
    return False


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused, never silently assigned; text must be storable."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if has_bad_text(data):
            raise ValueError("Text must not contain NUL characters or unpaired surrogates")
        return data


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPage(Page[T], Generic[T]):
    """A list that can also be walked by cursor: `next_cursor` is null on the last page."""

    next_cursor: str | None


OUT_OF_RANGE = "must be a time whose UTC value falls within the years 1 to 9999"


def as_utc(value: datetime) -> datetime:
    """The time in UTC (no zone means UTC); ValueError when UTC has no such time.

    `0001-01-01T00:00:00+14:00` and `9999-12-31T23:59:59-14:00` are valid ISO 8601
    but fall outside Python's (and the database's) calendar once in UTC.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


def _assume_utc(value: datetime) -> datetime:
    return as_utc(value)


# A timestamp without a zone is read as UTC.
UTCDatetime = Annotated[datetime, AfterValidator(_assume_utc)]
