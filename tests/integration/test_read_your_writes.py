"""A 2xx means committed: the next request (on any connection) sees the write."""

from tests.integration.conftest import Stack


def test_every_write_is_visible_to_the_next_request(live: Stack) -> None:
    with live.api("admin@demo.test") as admin, live.api("buyer@demo.test") as buyer:
        for i in range(30):
            email = f"ryw-{i}@demo.test"
            created = admin.post(
                "/api/users/",
                json={"email": email, "password": "password-123", "full_name": f"User {i}", "role": "admin"},
            )
            assert created.status_code == 201
            login = buyer.post("/api/auth/login", json={"email": email, "password": "password-123"})
            assert login.status_code == 200, f"user {i} not visible right after 201"
            order = buyer.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]})
            assert order.status_code == 201
            assert admin.get(f"/api/orders/{order.json()['id']}").status_code == 200
