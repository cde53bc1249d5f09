from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.main import create_app


@pytest.fixture
def client(clean_db: None) -> Iterator[TestClient]:
    from gateway.throttle import login_throttle

    login_throttle().storage.reset()  # failed logins of earlier tests do not count against this one
    app = create_app()
    with TestClient(app.other_asgi_app) as test_client:
        yield test_client
