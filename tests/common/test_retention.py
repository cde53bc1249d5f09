"""Retention (CONTRACT section 8): old, finished rows go in batches; unread rows and counts stay."""

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.models import DeliveryState, EventLog, MailOutbox, MailState, Notification, utcnow
from common.services.retention import purge_batch
from common.services.unread import new_rows_changes, record_changes, unread_state
from tests.conftest import user_by_email

BUYER = "buyer@demo.test"


def _event(db: Session, *, age_days: int, state: str = DeliveryState.PROCESSED) -> EventLog:
    event = EventLog(
        event_type="ORDER_DISPATCHED",
        entity_type="order",
        entity_id=1,
        event_metadata={},
        state=state,
        created_at=utcnow() - timedelta(days=age_days),
    )
    db.add(event)
    db.flush()
    return event


def _notify(db: Session, user_id: int, event: EventLog, *, is_read: bool = False) -> Notification:
    row = Notification(
        user_id=user_id, event_id=event.id, event_type=event.event_type, title="Order Dispatched",
        message="Your order is on its way", link="/orders/1",
    )
    db.add(row)
    db.flush()
    record_changes(db, new_rows_changes([row]))
    if is_read:
        row.is_read = row.seen = True
        record_changes(db, {user_id: Counter({"unread": -1, "unseen": -1, "orders": -1, "normal": -1})})
    return row


def _mail(user_id: int, event_id: int, state: str) -> MailOutbox:
    return MailOutbox(
        user_id=user_id, to_address=BUYER, event_id=event_id, subject="s", body_text="b", body_html="b",
        message_id=f"<{event_id}.{state}@test>", state=state,
    )


def test_only_finished_old_rows_go_and_no_count_moves(db: Session) -> None:
    buyer = user_by_email(db, BUYER).id
    old = [_event(db, age_days=200) for _ in range(7)]
    read_rows = [_notify(db, buyer, e, is_read=True) for e in old]
    buyer2 = user_by_email(db, "buyer2@demo.test").id
    unread_row = _notify(db, buyer2, old[0])
    failed = _event(db, age_days=200, state=DeliveryState.FAILED)
    queued = _event(db, age_days=200, state=DeliveryState.QUEUED)
    recent = _event(db, age_days=10)
    recent_read = _notify(db, buyer, recent, is_read=True)
    with_open_mail = _event(db, age_days=200)
    db.add(_mail(buyer, with_open_mail.id, MailState.PENDING))
    sent_mail = _mail(buyer, old[1].id, MailState.SENT)
    db.add(sent_mail)
    db.commit()
    sent_mail_id = sent_mail.id
    before = unread_state(db, buyer), unread_state(db, buyer2)

    rounds = []
    while True:
        purged = purge_batch(db, now=utcnow(), days=180, batch=3)
        db.commit()
        rounds.append(purged.events)
        if not purged:
            break
    assert rounds == [3, 3, 1, 0], "in batches of at most 3"

    remaining = set(db.scalars(select(EventLog.id)))
    assert {e.id for e in old}.isdisjoint(remaining)
    assert {failed.id, queued.id, recent.id, with_open_mail.id} <= remaining
    notification_ids = set(db.scalars(select(Notification.id)))
    assert {r.id for r in read_rows}.isdisjoint(notification_ids)
    assert {unread_row.id, recent_read.id} <= notification_ids
    db.expire_all()
    kept = db.get(Notification, unread_row.id)
    assert kept is not None and kept.event_id is None and kept.title == "Order Dispatched"
    assert db.get(MailOutbox, sent_mail_id) is None
    after = unread_state(db, buyer), unread_state(db, buyer2)
    assert [s.payload() for s in after] == [s.payload() for s in before]
    assert after[1].count == 1


def test_purging_while_events_flow_leaves_every_count_true(db: Session) -> None:
    buyer = user_by_email(db, BUYER).id
    for _ in range(300):
        _notify(db, buyer, _event(db, age_days=400), is_read=True)
    db.commit()
    stop = threading.Event()
    written = []

    def keep_writing() -> None:
        with get_sessionmaker()() as session:
            while not stop.is_set():
                written.append(_notify(session, buyer, _event(session, age_days=0)).id)
                session.commit()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        with get_sessionmaker()() as session:
            while purge_batch(session, now=utcnow(), days=180, batch=50):
                session.commit()
    finally:
        stop.set()
        writer.join(10)
    assert written
    unread = db.scalar(
        select(func.count()).where(Notification.user_id == buyer, ~Notification.is_read, ~Notification.archived)
    )
    assert unread_state(db, buyer).count == unread == len(written)
    old = select(func.count()).select_from(EventLog).where(EventLog.created_at < utcnow() - timedelta(days=180))
    assert db.scalar(old) == 0
