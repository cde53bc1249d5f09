"""How the inbox lists sort and filter (issue 24): by position; category, severity, snoozed, search."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, literal_column, text
from sqlalchemy.orm import Session

from common import search
from common.models import Notification
from common.models.events import SEARCH_DOCUMENT

# Where a row sorts: its id, or the fresh value it took when it resurfaced
# (the expression of ix_notifications_user_position).
SORT_KEY = func.coalesce(Notification.position, Notification.id)

_DOCUMENT: Any = literal_column(SEARCH_DOCUMENT)
_SIMPLE = text("'simple'::regconfig")


def search_condition(session: Session, query: str) -> Any:
    """Every term of `query` starts a word of the title or message (common/search.py)."""
    words = search.terms(query)
    if not words:
        return literal(True)
    if session.get_bind().dialect.name == "postgresql":
        return _DOCUMENT.op("@@")(func.to_tsquery(_SIMPLE, search.tsquery(words)))
    document = Notification.title + " " + Notification.message
    return func.pp_words_match(document, " ".join(words)) == 1


@dataclass(frozen=True)
class ListFilters:
    """The filters GET /api/notifications/ adds to is_read and archived (CONTRACT section 8)."""

    category: str | None = None
    severity: str | None = None
    snoozed: bool = False
    q: str | None = None
    # One thread's rows (an opened thread in the web app).
    entity_type: str | None = None
    entity_id: int | None = None

    def conditions(self, session: Session) -> list[Any]:
        found: list[Any] = [
            Notification.snoozed_until.isnot(None) if self.snoozed else Notification.snoozed_until.is_(None)
        ]
        if self.category is not None:
            found.append(Notification.category == self.category)
        if self.severity is not None:
            found.append(Notification.severity == self.severity)
        if self.entity_type is not None:
            found.append(Notification.entity_type == self.entity_type)
        if self.entity_id is not None:
            found.append(Notification.entity_id == self.entity_id)
        if self.q is not None:
            found.append(search_condition(session, self.q))
        return found
