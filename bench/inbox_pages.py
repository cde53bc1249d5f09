"""Time notification pages on a big inbox: first page, a deep offset page, a deep cursor page.

    DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/<scratch db> \\
        .venv/bin/python bench/inbox_pages.py --rows 200000

The database must be migrated and seeded (`alembic upgrade head`, `python -m common.seed`);
the rows are added to buyer@demo.test's inbox (and stay).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("EVENT_RELAY", "0")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from common.db import get_sessionmaker  # noqa: E402
from common.models import User  # noqa: E402
from common.security import create_access_token  # noqa: E402
from common.services.pagination import encode_cursor  # noqa: E402
from gateway.main import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with get_sessionmaker()() as session:
        user = session.scalar(select(User).where(User.email == "buyer@demo.test"))
        assert user is not None, "seed the database first"
        have = session.scalar(text("SELECT count(*) FROM notifications WHERE user_id = :u"), {"u": user.id})
        if have < args.rows:
            before = session.scalar(text("SELECT coalesce(max(id), 0) FROM event_logs"))
            session.execute(
                text(
                    "INSERT INTO event_logs (event_type, entity_type, entity_id, metadata, created_at, state,"
                    " attempts, sends) SELECT 'ETA_UPDATED', 'order', 1, '{}', now(), 'PROCESSED', 1, 1"
                    " FROM generate_series(1, :n)"
                ),
                {"n": args.rows - have},
            )
            session.execute(
                text(
                    "INSERT INTO notifications (user_id, event_id, event_type, title, message, metadata,"
                    " is_read, archived, created_at)"
                    " SELECT :u, e.id, 'ETA_UPDATED', 'ETA Updated', 'x', '{}', e.id % 3 = 0, e.id % 10 = 0,"
                    " now() FROM event_logs e WHERE e.id > :before ORDER BY e.id"
                ),
                {"u": user.id, "before": before},
            )
            session.commit()
        session.execute(text("ANALYZE notifications"))
        session.commit()
        ids = session.execute(
            text("SELECT max(id), min(id) FROM notifications WHERE user_id = :u AND NOT archived"),
            {"u": user.id},
        ).one()
        headers = {"Authorization": f"Bearer {create_access_token(user.id, user.role)}"}
    deep_cursor = encode_cursor(ids[1] + 40)
    cases = {
        "first page": "/api/notifications/?limit=20",
        "deep offset page": f"/api/notifications/?limit=20&offset={int(args.rows * 0.9) - 40}",
        "deep cursor page": f"/api/notifications/?limit=20&cursor={deep_cursor}",
        "unread count": "/api/notifications/unread-count",
    }
    with TestClient(create_app().other_asgi_app) as client:
        for name, url in cases.items():
            client.get(url, headers=headers)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                assert client.get(url, headers=headers).status_code == 200
                times.append((time.perf_counter() - start) * 1000)
            print(f"{name:18} median {statistics.median(times):7.1f} ms  (GET {url.split('?')[0]})")


if __name__ == "__main__":
    main()
