from typing import Any, Generic, TypedDict, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


class PageData(TypedDict, Generic[T]):
    """One page of a list, in the shape the API returns (common.schemas.base.Page)."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, query: Select[Any], *, limit: int, offset: int) -> PageData[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return {"items": items, "total": total, "limit": limit, "offset": offset}
