import base64
import binascii
from typing import Any, Generic, TypedDict, TypeVar

from sqlalchemy import Select, func, select, tuple_
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


def encode_key_cursor(*parts: int | str) -> str:
    """A cursor of a list sorted by a compound key: "k:<part>:<part>...", opaque to clients."""
    raw = ":".join(["k", *(str(p) for p in parts)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The parts of an encode_key_cursor cursor, typed as `kinds` (int or str); 422 otherwise.

    An "id:<n>" cursor of the id-sorted lists decodes as (n, n, ...), so a client
    holding one from before keeps its place.
    """
    bad = Invalid("cursor does not decode; use a next_cursor from a previous page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if raw.startswith("id:") and all(k is int for k in kinds):
        return (decode_cursor(cursor),) * len(kinds)
    prefix, *parts = raw.split(":")
    if prefix != "k" or len(parts) != len(kinds):
        raise bad
    values: list[Any] = []
    for part, kind in zip(parts, kinds, strict=True):
        if kind is int:
            if not part.isdigit() or not 0 < int(part) < 2**63:
                raise bad
            values.append(int(part))
        else:
            if not 0 < len(part) <= 40:
                raise bad
            values.append(part)
    return tuple(values)


def paginate_by_key(
    session: Session,
    query: Select[Any],
    key: Any,
    id_column: InstrumentedAttribute[int],
    *,
    limit: int,
    offset: int | None,
    cursor: str | None,
) -> CursorPageData[Any]:
    """paginate_by_id, sorted by (key, id) descending: the key is a row's position (issue 24)."""
    if cursor is not None and offset is not None:
        raise Invalid("Use either cursor or offset, not both")
    offset = offset or 0
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.order_by(key.desc(), id_column.desc())
    if cursor is not None:
        after = decode_key_cursor(cursor, (int, int))
        page_query = page_query.where(tuple_(key, id_column) < tuple_(*after))
    page_query = page_query.add_columns(key.label("sort_key"))
    rows = list(session.execute(page_query.limit(limit + 1).offset(offset)))
    items, more = [r[0] for r in rows[:limit]], len(rows) > limit
    next_cursor = encode_key_cursor(rows[limit - 1].sort_key, items[-1].id) if more else None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_cursor": next_cursor}


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
