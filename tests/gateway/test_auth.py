from datetime import UTC, datetime, timedelta

import jwt
from fastapi.testclient import TestClient

from tests.conftest import TEST_JWT_SECRET, auth, token_for


def login(client: TestClient, email: str, password: str):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_good_login_returns_token_and_user(client: TestClient) -> None:
    response = login(client, "buyer@demo.test", "demo1234")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["email"] == "buyer@demo.test"
    assert body["user"]["role"] == "buyer"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert set(me.json()) == {"id", "email", "full_name", "role", "factory_id", "supplier_id", "is_active", "is_manager"}
    assert me.json()["factory_id"] == 1


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient) -> None:
    wrong = login(client, "buyer@demo.test", "nope-nope")
    unknown = login(client, "nobody@demo.test", "demo1234")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_oauth2_form_login_for_swagger(client: TestClient) -> None:
    response = client.post("/api/auth/token", data={"username": "admin@demo.test", "password": "demo1234"})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert (
        client.post("/api/auth/token", data={"username": "admin@demo.test", "password": "bad"}).status_code
        == 401
    )


def _claims(**overrides):
    now = datetime.now(UTC)
    claims = {"sub": "1", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_bad_tokens_are_401(client: TestClient) -> None:
    now = datetime.now(UTC)
    expired = jwt.encode(_claims(exp=now - timedelta(seconds=5)), TEST_JWT_SECRET, "HS256")
    other_key = jwt.encode(_claims(), "another-secret-of-sufficient-length-000", "HS256")
    no_exp = jwt.encode({"sub": "1", "role": "admin", "iat": now}, TEST_JWT_SECRET, "HS256")
    no_sub = jwt.encode(_claims(sub=None), TEST_JWT_SECRET, "HS256")
    no_iat = jwt.encode(_claims(iat=None), TEST_JWT_SECRET, "HS256")
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    for token in [expired, other_key, no_exp, no_sub, no_iat, unsigned, "garbage", ""]:
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    assert client.get("/api/auth/me").status_code == 401


def test_admin_creates_users_with_rules(client: TestClient) -> None:
    admin = auth("admin@demo.test")
    body = {
        "email": "new@demo.test",
        "password": "longenough",
        "full_name": "New Buyer",
        "role": "buyer",
        "factory_id": 2,
    }
    created = client.post("/api/users/", json=body, headers=admin)
    assert created.status_code == 201
    assert created.json()["factory_id"] == 2
    assert client.post("/api/users/", json=body, headers=admin).status_code == 409
    no_factory = {**body, "email": "x@demo.test", "factory_id": None}
    assert client.post("/api/users/", json=no_factory, headers=admin).status_code == 422
    supplier_no_company = {**body, "email": "y@demo.test", "role": "supplier", "factory_id": None}
    assert client.post("/api/users/", json=supplier_no_company, headers=admin).status_code == 422
    unknown_field = {**body, "email": "z@demo.test", "is_admin": True}
    assert client.post("/api/users/", json=unknown_field, headers=admin).status_code == 422
    assert client.post("/api/users/", json=body, headers=auth("buyer@demo.test")).status_code == 403
    login_new = login(client, "new@demo.test", "longenough")
    assert login_new.status_code == 200


def test_token_of_a_user_works_for_me(client: TestClient) -> None:
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token_for('supplier@demo.test')}"})
    assert me.json()["supplier_id"] == 1
