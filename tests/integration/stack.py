"""Real processes for integration tests: uvicorn gateways and celery workers, and socket listeners."""

import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import socketio
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench.procstats import LoggedProcess, child_pids, free_port, wait_until
from common.seed import seed
from tests.conftest import LANE, ROOT, TEST_DATABASE_URL, TEST_DB_NAME, TEST_ENV, _recreate_database, alembic

LOG_DIR = ROOT / "test-artifacts" / "logs" / LANE
# The gateway's own HTTP protocol (header cap), as scripts/run.sh and docker-compose.yml start it.
HTTP_PROTOCOL = "gateway.http_protocol:GatewayHttpProtocol"


def process_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **TEST_ENV, "EVENT_RELAY": "1", "RELAY_INTERVAL_SECONDS": "0.5"}
    env.update(overrides)
    return env


def fresh_seeded_database(name: str) -> str:
    """A database of a test's own, migrated and seeded; returns its URL."""
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{TEST_DB_NAME}_{name}"
    _recreate_database(url)
    result = alembic("upgrade", "head", database_url=url)
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    with Session(engine) as session:
        seed(session)
        session.commit()
    engine.dispose()
    return url


def worker_children(worker_pid: int) -> list[int]:
    """The pool processes of a `celery worker` main process."""
    return child_pids(worker_pid)


class PrivateRedis:
    """A redis-server of a test's own, without persistence, so a restart loses everything.

    `users` are extra ACL users (name -> password, all permissions), recreated at
    every start, so a test can tell one process's connections from another's.
    """

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.users = users or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def url(self, db: int = 0, user: str | None = None) -> str:
        auth = f"{user}:{self.users[user]}@" if user else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout.strip()

    def _ping(self) -> bool:
        return self.cli("ping") == "PONG"

    def start(self) -> None:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        args += ["--save", "", "--appendonly", "no"]
        for name, password in self.users.items():
            args += ["--user", name, "on", f">{password}", "~*", "&*", "+@all"]
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with open(LOG_DIR / f"redis-{self.port}.log", "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        wait_until(self._ping, 15, "redis-server to start")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: whatever the server held is gone."""
        if self.proc is None:
            return
        self.cli("shutdown", "nosave")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Process(LoggedProcess):
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        super().__init__(name, args, env, LOG_DIR, ROOT)


def start_gateway(name: str, port: int, env: dict[str, str], log_level: str = "warning") -> Process:
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "gateway.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http",
            HTTP_PROTOCOL,
            "--ws-per-message-deflate",
            "false",
            "--no-proxy-headers",  # the app applies TRUSTED_PROXIES itself (gateway/throttle.py)
            "--log-level",
            log_level,  # at "info", uvicorn also writes its access log
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/api/health", timeout=1).status_code == 200, 30, f"{name} health")
    return process


def start_worker(name: str, env: dict[str, str], concurrency: int = 2) -> Process:
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-n",
            f"{name}@%h",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
    )
    wait_until(lambda: "ready." in process.log(), 60, f"{name} ready")
    return process


class Listener:
    """A real Socket.IO client that records every event it receives."""

    def __init__(self, base_url: str, token: str | None, name: str = "") -> None:
        self.name = name
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.disconnects = 0
        self.sio.on("disconnect", self._disconnected)
        auth = {"token": token} if token is not None else None
        self.sio.connect(base_url, socketio_path="ws", auth=auth, transports=["websocket"], wait_timeout=10)

    def _record(self, event: str, data: Any = None) -> None:
        with self._cond:
            self.events[event].append(data)
            self._cond.notify_all()

    def _disconnected(self, *_: Any) -> None:
        self.disconnects += 1

    def of(self, event: str) -> list[Any]:
        with self._cond:
            return list(self.events[event])

    def wait_for(self, event: str, match: Callable[[Any], bool] = lambda _: True, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for data in self.events[event]:
                    if match(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{self.name}: no {event} matching within {timeout}s; got {dict(self.events)}"
                    )
                self._cond.wait(remaining)

    def close(self) -> None:
        self.sio.disconnect()


def start_beat(name: str, env: dict[str, str], schedule: str) -> Process:
    """`celery beat` with its schedule file at `schedule` (a test's own); wait_for_beat before use."""
    return Process(
        name,
        [sys.executable, "-m", "celery", "-A", "workers", "beat", "--schedule", schedule, "--loglevel=INFO"],
        env,
    )


def wait_for_beat(process: Process) -> None:
    wait_until(lambda: "beat: Starting..." in process.log(), 30, f"{process.name} started")
