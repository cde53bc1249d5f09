"""Unread counts and their versions, O(1) per reader, with no lock that batches share.

The design (issue 21; CONTRACT sections 5 and 8):

- Every transaction that changes a user's unread state (new rows, read,
  unread, archive, unarchive, read-all, seen, snooze, resurface) appends ONE row to
  `unread_changes` for that user: the signed difference it made to each
  counted dimension (unread, unseen, per category, per severity). Appending
  takes no lock on anything another writer touches (an INSERT's foreign key
  takes a KEY SHARE lock on the user row, which never waits for another KEY
  SHARE), so two batches that notify the same 50 admins run side by side.
- A user's state is `unread_totals` (the compacted past) plus the sum of its
  changes; its **version** is the total's version plus the NUMBER of its
  changes, i.e. the number of committed changes of that user's state.
- Celery beat folds changes into the totals (`compact`), in one transaction
  per batch: the totals grow by exactly what is deleted, so every snapshot
  sees the same sums and the same number before and after. Reading costs the
  changes since the last compaction, never the user's backlog of unread rows.

Why the counts settle on the truth: a reader runs one statement, so it sees
one snapshot, and the set of committed transactions a snapshot sees only
grows. Two reads of one user therefore see nested sets of changes, and the
one with more changes has the higher version; equal versions mean the same
set, hence the same counts. Every writer reads after its own commit, so the
last writer to commit reads a set that includes every change, with the
highest version of all; a client keeping the highest version keeps it. A
sequence or a timestamp would not do: commits land in another order than
their numbers were drawn.

Exactness: each difference is computed from the row's state as the writer
changed it (single rows locked with FOR UPDATE first; bulk updates split by
their old state in the WHERE clause, which PostgreSQL re-checks on the newest
row version), so no change is counted twice or missed.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, func, select
from sqlalchemy.orm import Session

from common.db import execute_core, insert_on_conflict, insert_rows
from common.events.kinds import CATEGORIES, SEVERITIES
from common.models import User
from common.models.unread import COUNTER_COLUMNS, UnreadChange, UnreadTotal

Change = Counter[str]


@dataclass(frozen=True)
class UnreadState:
    count: int
    version: int
    unseen: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """`GET /api/notifications/unread-count` and the `unread_count` push (CONTRACT section 8)."""
        return {
            "count": self.count,
            "version": self.version,
            "unseen": self.unseen,
            "by_category": {c: self.by_category.get(c, 0) for c in CATEGORIES},
            "by_severity": {s: self.by_severity.get(s, 0) for s in SEVERITIES},
        }


def contribution(
    *, is_read: bool, archived: bool, seen: bool, category: str, severity: str, snoozed: bool = False
) -> Change:
    """What one notification row adds to its user's counts in this state.

    A snoozed row counts in no dimension; resurfacing puts it back (issue 24).
    """
    if is_read or archived or snoozed:
        return Counter()
    return Counter({"unread": 1, "unseen": 0 if seen else 1, category: 1, severity: 1})


def difference(before: Change, after: Change) -> Change:
    change = Counter(after)
    change.subtract(before)
    return change


def new_rows_changes(rows: Iterable[Any]) -> dict[int, Change]:
    """The change per user of freshly inserted rows (unread, unseen, not archived)."""
    changes: dict[int, Change] = {}
    for row in rows:
        change = changes.setdefault(row.user_id, Counter())
        change.update(("unread", "unseen", row.category, row.severity))
    return changes


def record_changes(session: Session, changes: Mapping[int, Change]) -> None:
    """Append one change row per user whose counts this transaction changed, in its transaction."""
    rows = []
    for user_id, change in sorted(changes.items()):
        if any(change.values()):
            rows.append({"user_id": user_id, **{c: change.get(c, 0) for c in COUNTER_COLUMNS}})
    if rows:
        insert_rows(session, UnreadChange.__table__, rows)  # type: ignore[arg-type]


def unread_states(session: Session, user_ids: Iterable[int]) -> dict[int, UnreadState]:
    """Counts and version per user, in one statement (one snapshot).

    Call it after the commit that changed the state, never before: a count read
    inside an uncommitted transaction may never become the truth.
    """
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {row.id: _state(row) for row in execute_core(session, _STATES, {"ids": ids})}


def unread_state(session: Session, user_id: int) -> UnreadState:
    return unread_states(session, [user_id]).get(user_id, UnreadState(0, 0))


def _state(row: Any) -> UnreadState:
    return UnreadState(
        count=row.unread,
        version=row.version,
        unseen=row.unseen,
        by_category={c: getattr(row, c) for c in CATEGORIES},
        by_severity={s: getattr(row, s) for s in SEVERITIES},
    )


_USER_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)


def _summed(column: str) -> Any:
    total = func.coalesce(getattr(UnreadTotal, column), 0)
    return (total + func.coalesce(func.sum(getattr(UnreadChange, column)), 0)).label(column)


_STATES = (
    select(
        User.id,
        *(_summed(c) for c in COUNTER_COLUMNS),
        (func.coalesce(UnreadTotal.version, 0) + func.count(UnreadChange.id)).label("version"),
    )
    .select_from(User)
    .outerjoin(UnreadTotal, UnreadTotal.user_id == User.id)
    .outerjoin(UnreadChange, UnreadChange.user_id == User.id)
    .where(User.id.in_(_USER_IDS))
    .group_by(User.id, UnreadTotal.user_id)
)


_FOLDED = (*COUNTER_COLUMNS, "version")


def compact(session: Session, limit: int = 5000) -> int:
    """Fold up to `limit` of the oldest changes into the totals, in the caller's transaction.

    Returns how many were folded. The totals grow by exactly what is deleted,
    in one transaction, so no reader ever sees a sum or a version move.
    """
    rows = (
        session.execute(
            select(UnreadChange).order_by(UnreadChange.id).limit(limit).with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    if not rows:
        return 0
    totals: dict[int, Counter[str]] = {}
    for row in rows:
        total = totals.setdefault(row.user_id, Counter())
        total.update({c: getattr(row, c) for c in COUNTER_COLUMNS})
        total["version"] += 1
    upsert = insert_on_conflict(session, UnreadTotal.__table__)
    upsert = upsert.on_conflict_do_update(
        index_elements=["user_id"],
        set_={c: getattr(UnreadTotal, c) + getattr(upsert.excluded, c) for c in _FOLDED},
    )
    execute_core(
        session,
        upsert,
        [{"user_id": uid, **{c: t.get(c, 0) for c in _FOLDED}} for uid, t in sorted(totals.items())],
    )
    execute_core(session, delete(UnreadChange).where(UnreadChange.id.in_([r.id for r in rows])))
    return len(rows)
