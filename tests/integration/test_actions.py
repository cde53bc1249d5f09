"""Acting from a notification against real processes (issue 23): uvicorn, a celery worker, PostgreSQL,
Redis and Socket.IO clients. A supplier confirms from its notification; the buyer's order moves live and
every copy's action is `done` on every socket."""

from typing import Any

from tests.gateway.test_actions_api import colleague
from tests.integration.conftest import Stack

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"
COLLEAGUE = "colleague-live@demo.test"


def _confirm_state(actions: list[dict[str, Any]]) -> tuple[str, str | None]:
    confirm = next(a for a in actions if a["id"] == "confirm")
    return confirm["state"], confirm["done_by"]


def test_supplier_confirms_from_the_notification_and_every_socket_follows(live: Stack) -> None:
    with live.api(ADMIN) as admin:
        created = admin.post("/api/users/", json=colleague(COLLEAGUE))
        assert created.status_code == 201, created.text
    buyer_socket = live.listen(BUYER)
    suppliers = {who: live.listen(who) for who in (SUPPLIER, COLLEAGUE)}
    second_tab = live.listen(SUPPLIER)  # every socket of the user, not only one
    try:
        with live.api(BUYER) as buyer:
            placed = buyer.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 2}]})
            assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        rows = {}
        for who, socket in suppliers.items():
            push = socket.wait_for("notification", lambda n: n["event_type"] == "SUPPLIER_MATCHED", timeout=30)
            assert push["category"] == "orders" and push["severity"] == "normal"
            assert _confirm_state(push["actions"]) == ("open", None)
            rows[who] = push["id"]
        assert rows[SUPPLIER] != rows[COLLEAGUE]
        buyer_socket.wait_for("order_status", lambda m: m["order_id"] == order_id and m["status"] == "MATCHED")

        with live.api(SUPPLIER) as supplier:
            answer = supplier.post(
                f"/api/notifications/{rows[SUPPLIER]}/actions/confirm", json={}, headers={"Idempotency-Key": "live-1"}
            )
        assert answer.status_code == 200, answer.text
        assert _confirm_state(answer.json()["actions"]) == ("done", "Sven Supplier")

        # The buyer's tracker moves live: the worker handled ORDER_CONFIRMED.
        buyer_socket.wait_for("order_status", lambda m: m["order_id"] == order_id and m["status"] == "CONFIRMED")
        buyer_socket.wait_for("notification", lambda n: n["event_type"] == "ORDER_CONFIRMED")

        def done_on(row_id: int):
            return lambda u: (
                u.get("id") == row_id
                and "actions" in u
                and _confirm_state(u["actions"]) == ("done", "Sven Supplier")
                and any(a["id"] == "dispatch" and a["state"] == "open" for a in u["actions"])
            )

        for who, socket in suppliers.items():
            socket.wait_for("notification_updated", done_on(rows[who]), timeout=20)
        second_tab.wait_for("notification_updated", done_on(rows[SUPPLIER]), timeout=20)

        # A second press, by the colleague, is refused: the action is done, by the first.
        with live.api(COLLEAGUE) as other:
            again = other.post(f"/api/notifications/{rows[COLLEAGUE]}/actions/confirm", json={})
            assert again.status_code == 409 and again.json()["state"] == "CONFIRMED"
            listed = other.get("/api/notifications/").json()["items"]
        mine = next(n for n in listed if n["id"] == rows[COLLEAGUE])
        assert _confirm_state(mine["actions"]) == ("done", "Sven Supplier")
    finally:
        for socket in (buyer_socket, second_tab, *suppliers.values()):
            socket.close()
