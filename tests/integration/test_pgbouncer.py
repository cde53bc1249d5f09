"""PgBouncer in transaction pooling in front of PostgreSQL (issue 21, the connection
budget): a real uvicorn gateway and a real celery worker reach the database only
through Debian's `pgbouncer`; migrations go straight to PostgreSQL
(DATABASE_DIRECT_URL). An order placed is matched by the worker and told to the
buyer's socket, and PgBouncer's own statistics show the transactions it carried."""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest

from tests.integration.stack import (
    Listener,
    PrivateRedis,
    free_port,
    fresh_seeded_database,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
)

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


class PgBouncer:
    """Debian's pgbouncer on a free port, transaction pooling, trust auth (as the test
    PostgreSQL), run as the `postgres` user (it refuses to run as root)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        os.chmod(self.dir, 0o777)  # pgbouncer (as `postgres`) writes its log here
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            "* = host=127.0.0.1 port=5432\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir}/userlist.txt\nadmin_users = postgres\n"
            "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 10\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.dir}/pgbouncer.log\n"
        )
        command = [PGBOUNCER, str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            command = [
                "setpriv",
                f"--reuid={postgres.pw_uid}",
                f"--regid={postgres.pw_gid}",
                "--clear-groups",
                *command,
            ]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._answers, 15, "pgbouncer listening")

    def _answers(self) -> bool:
        with psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer") as c:
            return c is not None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def transactions(self, database: str) -> int:
        """Transactions PgBouncer has carried for `database` (SHOW STATS)."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer")
        connection.autocommit = True  # the admin console takes no transactions
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW STATS")
                columns = [column.name for column in cursor.description]
                rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            connection.close()
        return sum(int(row["total_xact_count"]) for row in rows if row["database"] == database)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    # Not under pytest's tmp_path: its parents are closed to the `postgres` user.
    workdir = Path(tempfile.mkdtemp(prefix="partpulse-pgbouncer-"))
    bouncer = PgBouncer(workdir)
    yield bouncer
    bouncer.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_gateway_and_workers_run_through_pgbouncer_in_transaction_pooling(bouncer: PgBouncer) -> None:
    direct_url = fresh_seeded_database("pgbouncer")  # migrated straight on PostgreSQL
    database = direct_url.rsplit("/", 1)[1]
    redis = PrivateRedis()  # a broker of its own: the session's workers must not take these tasks
    redis.start()
    env = process_env(
        DATABASE_URL=bouncer.url(database), DATABASE_DIRECT_URL=direct_url, REDIS_URL=redis.url()
    )
    port = free_port()
    gateway = start_gateway("pgbouncer-gateway", port, env)
    worker = start_worker("pgbouncer-worker", env, concurrency=2)
    base = f"http://127.0.0.1:{port}"
    try:
        before = bouncer.transactions(database)
        with httpx.Client(base_url=base, timeout=15) as client:
            login = client.post("/api/auth/login", json={"email": "buyer@demo.test", "password": "demo1234"})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            buyer = Listener(base, token, "buyer")
            try:
                buyer.wait_for("unread_count")
                placed = client.post(
                    "/api/orders/",
                    json={"items": [{"part_id": 1, "quantity": 1}]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert placed.status_code == 201, placed.text
                order_id = placed.json()["id"]
                buyer.wait_for(
                    "notification",
                    lambda n: (
                        n["event_type"] == "SUPPLIER_MATCHED" and n["metadata"].get("order_id") == order_id
                    ),
                    timeout=30,
                )
                buyer.wait_for(
                    "order_status", lambda d: d["order_id"] == order_id and d["status"] == "MATCHED"
                )
            finally:
                buyer.close()
            health = client.get("/api/health")
            assert health.status_code == 200 and health.json()["database"] == "ok", health.text
        time.sleep(1)  # PgBouncer folds its statistics in every second or so
        assert bouncer.transactions(database) > before + 5
    finally:
        worker.stop()
        gateway.stop()
        redis.stop()
