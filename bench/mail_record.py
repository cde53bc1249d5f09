"""Cost of recording mails in the pipeline transaction: 500 events per batch, 2 recipients each.

Run against the test database: PYTHONPATH=. .venv/bin/python bench/mail_record.py
(it empties and reseeds TEST_DATABASE_URL, and rolls back what it records)."""

import time

from sqlalchemy import select

from common.db import get_sessionmaker
from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.models import InventoryItem, Order, OrderItem, OrderStatus, User
from common.services import mail
from tests.conftest import reset_data  # sets the test env

reset_data()
s = get_sessionmaker()()
users = [
    u.id for u in s.scalars(select(User).where(User.email.in_(["admin@demo.test", "supplier@demo.test"])))
]
buyer = s.scalar(select(User).where(User.email == "buyer@demo.test"))
items = list(s.scalars(select(InventoryItem).where(InventoryItem.supplier_id == 1)))
order = Order(
    status=OrderStatus.PLACED,
    factory_id=buyer.factory_id,
    buyer_id=buyer.id,
    items=[OrderItem(part_id=1, quantity=1)],
)
s.add(order)
s.flush()
for kind in ("LOW_STOCK_ALERT", "MATCHING_FAILED"):
    entries = []
    for n in range(500):
        if kind == "LOW_STOCK_ALERT":
            it = items[n % len(items)]
            e = emit_event(
                s,
                EventType.LOW_STOCK_ALERT,
                EntityType.INVENTORY,
                it.id,
                metadata={"supplier_id": 1, "part_id": it.part_id, "quantity": 1, "low_stock_threshold": 5},
            )
        else:
            e = emit_event(
                s, EventType.MATCHING_FAILED, EntityType.ORDER, order.id, metadata={"order_id": order.id}
            )
        entries.append(mail.MailEntry(e, "T", "message", "/orders/1", frozenset(users)))
    s.commit()
    t = time.perf_counter()
    mail.record_mails_batch(s, entries)
    s.flush()
    dt = time.perf_counter() - t
    s.rollback()
    print(f"{kind}: 500 events x {len(users)} recipients recorded in {dt * 1000:.0f} ms")
