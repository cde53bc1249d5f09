import base64
import binascii
from typing import Any, Generic, TypedDict, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from common.services.errors import Invalid

T = TypeVar("T")


class PageData(TypedDict, Generic[T]):
    """One page of a list, in the shape the API returns (common.schemas.base.Page)."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPageData(PageData[T]):
    """A page of a list that can also be walked by cursor (common.schemas.base.CursorPage)."""

    next_cursor: str | None


def paginate(session: Session, query: Select[Any], *, limit: int, offset: int) -> PageData[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# A cursor is the id of the last row a page showed, opaque to clients: "id:<n>",
# urlsafe base64 without padding.
def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("cursor does not decode; use a next_cursor from a previous page") from None
    prefix, _, number = raw.partition(":")
    if prefix != "id" or not number.isdigit() or not 0 < int(number) < 2**63:
        raise Invalid("cursor does not decode; use a next_cursor from a previous page")
    return int(number)


def paginate_by_id(
    session: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[int],
    *,
    limit: int,
    offset: int | None,
    cursor: str | None,
) -> CursorPageData[Any]:
    """Newest first by id, by offset or by cursor; every page says where the next one starts.

    A cursor page starts below the last id the previous page showed, so rows
    written meanwhile (higher ids) neither repeat nor push rows onto the next
    page. `total` is the count of the whole list, whichever way it is walked.
    """
    if cursor is not None and offset is not None:
        raise Invalid("Use either cursor or offset, not both")
    offset = offset or 0
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.order_by(id_column.desc())
    if cursor is not None:
        page_query = page_query.where(id_column < decode_cursor(cursor))
    rows = list(session.scalars(page_query.limit(limit + 1).offset(offset)))
    items, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(items[-1].id) if more else None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_cursor": next_cursor}
