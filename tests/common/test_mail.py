"""The mail outbox, the digest and escalation against PostgreSQL (the worker processes are in
tests/integration/test_email.py). Settings are read at call time, so monkeypatched values apply."""

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.config import get_settings
from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.mailer import build_message, parse_smtp_url
from common.models import (
    EventLog,
    InventoryItem,
    MailDigestItem,
    MailOutbox,
    MailState,
    Order,
    OrderEscalation,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    utcnow,
)
from common.services import escalation, mail
from tests.conftest import user_by_email

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"


def order_event(db: Session, event_type: EventType, order_id: int = 0) -> EventLog:
    if not order_id:
        order_id = make_order(db, OrderStatus.PLACED).id
    event = emit_event(db, event_type, EntityType.ORDER, order_id, metadata={"order_id": order_id})
    db.flush()
    return event


def make_order(db: Session, status: OrderStatus, *, matched_ago: float | None = None, **fields) -> Order:
    buyer = user_by_email(db, BUYER)
    order = Order(
        status=status,
        factory_id=buyer.factory_id,
        buyer_id=buyer.id,
        supplier_id=1 if status != OrderStatus.PLACED else None,
        items=[OrderItem(part_id=1, quantity=1)],
        **fields,
    )
    db.add(order)
    db.flush()
    if matched_ago is not None:
        db.add(
            OrderStatusChange(
                order_id=order.id, status=OrderStatus.MATCHED, at=utcnow() - timedelta(seconds=matched_ago)
            )
        )
        db.flush()
    return order


def ids(*emails: str, db: Session) -> list[int]:
    return [user_by_email(db, e).id for e in emails]


def test_critical_mail_is_recorded_once_per_user_with_full_link(db: Session) -> None:
    event = order_event(db, EventType.MATCHING_FAILED)
    order_id = event.entity_id
    users = ids(BUYER, ADMIN, db=db)
    first = mail.record_mails(
        db, event, "No Supplier Available", "No supplier can fill", f"/orders/{order_id}", users
    )
    again = mail.record_mails(
        db, event, "No Supplier Available", "No supplier can fill", f"/orders/{order_id}", users
    )
    db.commit()
    assert len(first) == 2 and again == []
    rows = list(db.scalars(select(MailOutbox).order_by(MailOutbox.user_id)))
    assert [r.to_address for r in rows] == [ADMIN, BUYER]
    url = f"{get_settings().public_base_url}/orders/{order_id}"
    for row in rows:
        assert row.subject == "No Supplier Available"
        assert url in row.body_text and f'href="{url}"' in row.body_html
        assert row.message_id.startswith(f"<mail.{event.id}.{row.user_id}.") and row.message_id.endswith(">")
        assert row.state == MailState.PENDING and row.kind == "single"


def test_types_whose_email_switch_is_off_by_default_are_not_mailed(db: Session) -> None:
    event = order_event(db, EventType.ORDER_DISPATCHED)
    assert (
        mail.record_mails(
            db, event, "Order Dispatched", "Your order is on its way", "/orders/1", ids(BUYER, db=db)
        )
        == []
    )
    assert db.scalar(select(func.count()).select_from(MailOutbox)) == 0


def test_message_is_text_with_html_alternative_and_stable_id(db: Session) -> None:
    event = order_event(db, EventType.ORDER_CANCELLED)
    [mail_id] = mail.record_mails(
        db, event, "Order Cancelled", "Order #1 was cancelled", "/orders/1", ids(ADMIN, db=db)
    )
    row = db.get(MailOutbox, mail_id)
    assert row is not None
    first, second = build_message(row), build_message(row)
    assert first["Message-ID"] == second["Message-ID"] == row.message_id
    parsed = message_from_bytes(bytes(first), policy=default_policy)
    assert parsed["Subject"] == "Order Cancelled" and parsed["To"] == ADMIN
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://127.0.0.1:2525")
    assert (plain.host, plain.port, plain.ssl, plain.username) == ("127.0.0.1", 2525, False, None)
    secure = parse_smtp_url("smtps://me%40x.org:p%3Ass@mail.example.org")
    assert (secure.port, secure.ssl, secure.username, secure.password) == (465, True, "me@x.org", "p:ss")
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.org")


def test_claim_is_exclusive_and_a_refusal_backs_off(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "mail_retry_seconds", 10.0)
    event = order_event(db, EventType.MATCHING_FAILED)
    [mail_id] = mail.record_mails(db, event, "No Supplier Available", "x", "/orders/1", ids(BUYER, db=db))
    db.commit()
    row = mail.claim(db, mail_id)
    assert row is not None and row.state == MailState.SENDING and row.attempts == 1
    assert mail.claim(db, mail_id) is None  # leased to the first claimer
    assert mail.mark_refused(db, mail_id, row.attempts, "451 try later") == 10.0
    assert mail.claim(db, mail_id) is None  # waits for its retry time
    later = utcnow() + timedelta(seconds=11)
    again = mail.claim(db, mail_id, now=later)
    assert again is not None and again.attempts == 2
    assert mail.mark_refused(db, mail_id, again.attempts, "451 again") == 20.0
    mail.mark_sent(db, mail_id)  # a stray retry task that finds it sent does nothing
    assert mail.claim(db, mail_id, now=later + timedelta(hours=1)) is None


def test_sweep_hands_over_mails_a_lost_task_left(db: Session) -> None:
    event = order_event(db, EventType.MATCHING_FAILED)
    [mail_id] = mail.record_mails(db, event, "No Supplier Available", "x", "/orders/1", ids(BUYER, db=db))
    db.commit()
    now = utcnow()
    assert mail.sweep(db, now) == []  # just recorded: its own task is on the way
    requeue = get_settings().mail_requeue_seconds
    assert mail.sweep(db, now + timedelta(seconds=requeue + 1)) == [mail_id]
    db.commit()
    assert mail.sweep(db, now + timedelta(seconds=requeue + 2)) == []  # once per requeue period
    assert mail.claim(db, mail_id, now=now + timedelta(seconds=requeue + 2)) is not None
    # A SENDING mail whose worker died is swept when its lease ends.
    assert mail.sweep(db, now + timedelta(seconds=requeue + 5)) == []
    assert mail.sweep(db, now + timedelta(hours=1)) == [mail_id]


def low_stock_event(db: Session, supplier_id: int, part_id: int, quantity: int) -> EventLog:
    item = db.scalar(
        select(InventoryItem).where(
            InventoryItem.supplier_id == supplier_id, InventoryItem.part_id == part_id
        )
    )
    assert item is not None
    meta = {
        "inventory_id": item.id,
        "supplier_id": supplier_id,
        "part_id": part_id,
        "quantity": quantity,
        "low_stock_threshold": item.low_stock_threshold,
    }
    return emit_event(db, EventType.LOW_STOCK_ALERT, EntityType.INVENTORY, item.id, metadata=meta)


def test_digest_gathers_each_part_once_per_user_and_names_suppliers_for_admins(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "low_stock_digest_seconds", 600.0)
    admin, supplier, supplier2 = ids(ADMIN, SUPPLIER, "supplier2@demo.test", db=db)
    start = utcnow()
    alerts = [(1, 1, 9), (1, 2, 3), (1, 1, 4), (2, 1, 2)]  # part 1 at supplier 1 twice; part 1 at supplier 2
    for supplier_id, part_id, quantity in alerts:
        event = low_stock_event(db, supplier_id, part_id, quantity)
        users = [admin, supplier if supplier_id == 1 else supplier2]
        assert mail.record_mails(db, event, "Low Stock Alert", "...", None, users) == []
    db.commit()
    due = set(db.scalars(select(MailDigestItem.due_at).where(MailDigestItem.user_id == admin)))
    assert len(due) == 1  # the period the first alert opened
    [due_at] = due
    assert timedelta(seconds=599) < due_at - start < timedelta(seconds=601)
    assert mail.write_due_digests(db, now=due_at - timedelta(seconds=1)) == []
    created = mail.write_due_digests(db, now=due_at + timedelta(seconds=1))  # supplier 2's opened later
    db.commit()
    assert len(created) == 3
    by_user = {m.user_id: m for m in db.scalars(select(MailOutbox).where(MailOutbox.id.in_(created)))}
    assert by_user[supplier].subject == "Low stock: 2 parts"
    assert by_user[admin].subject == "Low stock: 2 parts"
    assert by_user[supplier2].subject == "Low stock: 1 parts"
    text = by_user[supplier].body_text
    assert (
        text.count("Deep groove ball bearing 6205-2RS") == 1
        and "4 remaining" in text
        and "9 remaining" not in text
    )
    assert "Nordic Bearings AG" not in text
    admin_text = by_user[admin].body_text
    assert admin_text.count("Deep groove ball bearing 6205-2RS") == 1
    assert (
        "Nordic Bearings AG: 4 remaining" in admin_text
        and "Atlas Industrial Supply: 2 remaining" in admin_text
    )
    assert f"{get_settings().public_base_url}/inventory/1" in admin_text
    assert all(m.kind == "digest" and m.event_id is None for m in by_user.values())
    # The next alert opens a new period of its own.
    event = low_stock_event(db, 1, 3, 1)
    opened = utcnow()
    mail.record_mails(db, event, "Low Stock Alert", "...", None, [supplier])
    db.commit()
    new_due = db.scalar(select(MailDigestItem.due_at).where(MailDigestItem.mail_id.is_(None)))
    assert new_due is not None and timedelta(seconds=599) < new_due - opened < timedelta(seconds=601)


def test_escalation_once_per_order_and_reason(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "escalate_unconfirmed_seconds", 3600.0)
    late = make_order(db, OrderStatus.MATCHED, matched_ago=3 * 3600 + 60)
    fresh = make_order(db, OrderStatus.MATCHED, matched_ago=60)
    past_needed = make_order(db, OrderStatus.PLACED, needed_by=utcnow() - timedelta(minutes=1))
    past_eta = make_order(db, OrderStatus.IN_TRANSIT, eta=utcnow() - timedelta(minutes=1))
    make_order(db, OrderStatus.DELIVERED, eta=utcnow() - timedelta(days=1))
    make_order(db, OrderStatus.CANCELLED, needed_by=utcnow() - timedelta(days=1))
    make_order(db, OrderStatus.CONFIRMED, needed_by=utcnow() + timedelta(days=1))
    db.commit()
    first = escalation.escalate_due_orders(db)
    db.commit()
    assert escalation.escalate_due_orders(db) == []
    db.commit()
    events = list(db.scalars(select(EventLog).where(EventLog.id.in_(first)).order_by(EventLog.entity_id)))
    got = {(e.entity_id, e.event_metadata["reason"]) for e in events}
    assert got == {(late.id, "unconfirmed"), (past_needed.id, "past_eta"), (past_eta.id, "past_eta")}
    assert fresh.id not in {e.entity_id for e in events}
    unconfirmed = next(e for e in events if e.entity_id == late.id)
    assert unconfirmed.event_metadata["hours"] == 3 and unconfirmed.event_type == "ORDER_ESCALATED"
    assert db.scalar(select(func.count()).select_from(OrderEscalation)) == 3


def test_without_smtp_url_mails_are_complete_eml_files(
    db: Session, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.mailer import Mailer

    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    monkeypatch.setattr(get_settings(), "smtp_url", "")
    event = order_event(db, EventType.MATCHING_FAILED)
    [mail_id] = mail.record_mails(
        db, event, "No Supplier Available", "No supplier", "/orders/1", ids(BUYER, db=db)
    )
    row = db.get(MailOutbox, mail_id)
    assert row is not None
    path = Path(Mailer().send(row))
    assert path.parent == tmp_path / "mail"
    assert path.name.endswith(f"-{mail_id:06d}-no-supplier-available.eml")
    parsed = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert parsed["Message-ID"] == row.message_id and parsed["To"] == BUYER
    assert not list(tmp_path.glob("mail/*.part"))


def test_a_batch_of_events_is_recorded_with_a_fixed_number_of_statements(db: Session) -> None:
    from sqlalchemy import event as sa_event

    admin, supplier = ids(ADMIN, SUPPLIER, db=db)
    entries = []
    for part_id in range(1, 13):
        alert = low_stock_event(db, 1, part_id, 1)
        entries.append(mail.MailEntry(alert, "Low Stock Alert", "...", None, frozenset({admin, supplier})))
    for _ in range(10):
        failed = order_event(db, EventType.MATCHING_FAILED)
        entries.append(mail.MailEntry(failed, "No Supplier Available", "x", "/orders/1", frozenset({admin})))
    db.flush()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.get_bind()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        new_ids = mail.record_mails_batch(db, entries)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    db.commit()
    assert len(new_ids) == 10
    # One e-mail preferences query per event type (two here), then addresses,
    # mails, open periods and digest items: a fixed number, whatever the batch size.
    assert len(statements) <= 2 + 4, statements
    assert db.scalar(select(func.count()).select_from(MailDigestItem)) == 24
    # One period per user, opened by the first alert of the batch.
    assert db.scalar(select(func.count(func.distinct(MailDigestItem.due_at)))) <= 2
