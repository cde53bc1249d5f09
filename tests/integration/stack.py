"""Real processes for integration tests: uvicorn gateways and celery workers, and socket listeners."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import socketio

from tests.conftest import ROOT, TEST_ENV

LOG_DIR = ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **TEST_ENV, "EVENT_RELAY": "1", "RELAY_INTERVAL_SECONDS": "0.5"}
    env.update(overrides)
    return env


def wait_until(check: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path: Path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def start_gateway(name: str, port: int, env: dict[str, str]) -> Process:
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
            "--ws-per-message-deflate",
            "false",
            "--no-proxy-headers",  # the app applies TRUSTED_PROXIES itself (gateway/throttle.py)
            "--log-level",
            "warning",
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
        auth = {"token": token} if token is not None else None
        self.sio.connect(base_url, socketio_path="ws", auth=auth, transports=["websocket"], wait_timeout=10)

    def _record(self, event: str, data: Any = None) -> None:
        with self._cond:
            self.events[event].append(data)
            self._cond.notify_all()

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
