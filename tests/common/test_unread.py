"""The unread counts (common/services/unread.py): exact, versioned, O(1), no lock that writers share."""

import random
import statistics
import time
from collections import Counter

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.events.kinds import CATEGORIES, SEVERITIES
from common.models import EventLog, Notification, User
from common.services import notifications
from common.services.unread import compact, new_rows_changes, record_changes, unread_state, unread_states
from tests.conftest import user_by_email

ADMIN = "admin@demo.test"
TYPES = ["ORDER_DISPATCHED", "LOW_STOCK_ALERT", "MATCHING_FAILED", "DELIVERY_COMPLETED", "ORDER_CANCELLED"]


def _add_rows(db: Session, user_id: int, n: int, rng: random.Random) -> list[Notification]:
    rows = []
    for _ in range(n):
        event_type = rng.choice(TYPES)
        event = EventLog(event_type=event_type, entity_type="order", entity_id=1, event_metadata={})
        db.add(event)
        db.flush()
        row = Notification(user_id=user_id, event_id=event.id, event_type=event_type, title="t", message="m")
        db.add(row)
        rows.append(row)
    db.flush()
    record_changes(db, new_rows_changes(rows))
    db.commit()
    return rows


def _recount(db: Session, user_id: int) -> dict[str, object]:
    """The truth, counted from the rows themselves."""
    unread = select(Notification).where(
        Notification.user_id == user_id,
        ~Notification.is_read,
        ~Notification.archived,
        Notification.snoozed_until.is_(None),  # a snoozed row counts in nothing (issue 24)
    ).subquery()
    rows = db.execute(select(unread.c.category, unread.c.severity, unread.c.seen)).all()
    return {
        "count": len(rows),
        "unseen": sum(1 for r in rows if not r.seen),
        "by_category": {c: sum(1 for r in rows if r.category == c) for c in CATEGORIES},
        "by_severity": {s: sum(1 for r in rows if r.severity == s) for s in SEVERITIES},
    }


def _reported(db: Session, user_id: int) -> dict[str, object]:
    payload = unread_state(db, user_id).payload()
    payload.pop("version")
    return payload


def test_counts_follow_every_change_exactly_and_survive_compaction(db: Session) -> None:
    rng = random.Random(7)
    admin = user_by_email(db, ADMIN).id
    rows = _add_rows(db, admin, 40, rng)
    versions = [unread_state(db, admin).version]
    for step in range(120):
        row = rng.choice(rows)
        op = rng.choice(["read", "unread", "archive", "unarchive", "read_all", "add"])
        if op == "read":
            notifications.set_read(db, admin, row.id, True)
        elif op == "unread":
            notifications.set_read(db, admin, row.id, False)
        elif op == "archive":
            notifications.set_archived(db, admin, row.id, True)
        elif op == "unarchive":
            notifications.set_archived(db, admin, row.id, False)
        elif op == "read_all":
            notifications.mark_all_read(db, admin, up_to_id=rng.choice(rows).id)
        else:
            rows += _add_rows(db, admin, 2, rng)
        db.commit()
        if step % 30 == 29:
            compact(db, limit=7)  # a partial fold: totals and changes both in play
            db.commit()
        assert _reported(db, admin) == _recount(db, admin), (step, op)
        versions.append(unread_state(db, admin).version)
    assert versions == sorted(versions), "the version never goes back"
    while compact(db):
        db.commit()
    db.commit()
    assert db.scalar(text("SELECT count(*) FROM unread_changes")) == 0
    assert _reported(db, admin) == _recount(db, admin)
    assert unread_state(db, admin).version == versions[-1], "compaction keeps the version"


def test_two_writers_for_the_same_users_never_wait_for_each_other(db: Session) -> None:
    """Two open transactions append changes for the same 50 users; neither blocks the other."""
    users = list(db.scalars(select(User.id)))
    extra = [User(email=f"admin{i}@x.test", password_hash="-", full_name="A", role="admin") for i in range(50)]
    db.add_all(extra)
    db.commit()
    user_ids = users + [u.id for u in extra]
    before = unread_states(db, user_ids)
    first, second = get_sessionmaker()(), get_sessionmaker()()
    try:
        first.execute(text("SET lock_timeout = '500ms'"))
        second.execute(text("SET lock_timeout = '500ms'"))
        record_changes(first, {uid: Counter({"unread": 1, "unseen": 1, "orders": 1, "normal": 1}) for uid in user_ids})
        started = time.monotonic()
        record_changes(second, {uid: Counter({"unread": 2, "unseen": 2, "stock": 2, "high": 2}) for uid in user_ids})
        second.commit()  # while the first is still open
        assert time.monotonic() - started < 0.5
        first.commit()
    finally:
        first.close()
        second.close()
    after = unread_states(db, user_ids)
    for uid in user_ids:
        assert after[uid].count == before[uid].count + 3
        assert after[uid].version == before[uid].version + 2


def test_reading_a_count_costs_the_same_with_100000_unread_rows_as_with_10(db: Session) -> None:
    big, small = user_by_email(db, ADMIN).id, user_by_email(db, "buyer@demo.test").id
    event = EventLog(event_type="LOW_STOCK_ALERT", entity_type="inventory", entity_id=1, event_metadata={})
    db.add(event)
    db.flush()
    for user_id, n in ((big, 100_000), (small, 10)):
        db.execute(
            text(
                """
                WITH new AS (
                  INSERT INTO event_logs (event_type, entity_type, entity_id, metadata, created_at, state,
                                          attempts, sends)
                  SELECT 'LOW_STOCK_ALERT', 'inventory', 1, '{}', now(), 'PROCESSED', 1, 1
                  FROM generate_series(1, :n) RETURNING id)
                INSERT INTO notifications (user_id, event_id, event_type, title, message, metadata,
                                           is_read, archived, created_at, category, severity, seen)
                SELECT :uid, id, 'LOW_STOCK_ALERT', 't', 'm', '{}', false, false, now(), 'stock', 'normal', false
                FROM new
                """
            ),
            {"n": n, "uid": user_id},
        )
        record_changes(db, {user_id: Counter({"unread": n, "unseen": n, "stock": n, "normal": n})})
    db.commit()
    assert unread_state(db, big).count == 100_000
    assert db.scalar(select(func.count()).where(Notification.user_id == big)) == 100_000

    def one_more_event(user_id: int) -> float:
        """What a batch does per recipient: append its change, commit, read the state back."""
        started = time.perf_counter()
        record_changes(db, {user_id: Counter({"unread": 1, "unseen": 1, "stock": 1, "normal": 1})})
        db.commit()
        unread_states(db, [user_id])
        return time.perf_counter() - started

    for _ in range(5):  # warm up both
        one_more_event(big), one_more_event(small)
    big_times, small_times = [], []
    for _ in range(40):  # interleaved, so the machine's load falls on both alike
        big_times.append(one_more_event(big))
        small_times.append(one_more_event(small))
    big_ms, small_ms = statistics.median(big_times) * 1000, statistics.median(small_times) * 1000
    print(f"one more event: 100,000 unread {big_ms:.2f} ms, 10 unread {small_ms:.2f} ms (medians of 40)")
    assert big_ms <= 2 * small_ms + 0.5
    assert unread_state(db, big).count == 100_045
