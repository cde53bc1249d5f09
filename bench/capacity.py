"""Capacity: per-process figures for sizing a deployment, measured on real processes.

Starts everything it measures on this machine, against a Redis of its own (a
redis-server on a free port) and a PostgreSQL database it drops and recreates
(``--database-url``, default ``.../partpulse_capacity``):

1. **Worker**: one ``celery worker`` with ``--concurrency=1`` (one pool
   process) handles ``--events`` ORDER_DISPATCHED events, written once one
   per transaction (as requests write them: small relay batches) and once all
   in one transaction (full batches). Reports events/s for that one pool
   process and the CPU each event cost in the pool process and in the
   worker's main process (its outbox relay, dispatch to the pool).
2. **Gateway sockets**: ``--sockets`` Socket.IO clients connect to one gateway;
   reports the gateway's memory (RSS) and CPU per connected socket.
3. **Gateway messages, N gateways**: for N in ``--gateways`` (1, 2, 4), N
   gateways subscribe to the shared channel; ``--sockets`` clients connect to
   the first, as many clients of another user to each other gateway, and
   ``--messages`` notifications for a user on the first gateway are published
   on the channel. Reports what each gateway's process paid per message
   (CPU from /proc): the one that delivers it, and each one that only
   receives and drops it, and the messages/s the first delivered.

CPU comes from /proc/<pid>/stat (utime + stime) of each measured process,
so the load of other processes on the machine does not count, though it
slows the wall-clock figures (events/s, messages/s).

    .venv/bin/python bench/capacity.py                           # full run
    .venv/bin/python bench/capacity.py --events 100 --messages 200 --sockets 20   # short check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procstats import cpu_seconds, free_port  # bench/ is on sys.path: run as a script

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent



def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")



def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

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


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.log_dir = Path(tempfile.mkdtemp(prefix="partpulse-capacity-"))
        self.redis_port = free_port()
        self.procs: list[Proc] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "JWT_SECRET": "capacity-bench-secret-0123456789-0123456789",
            "SOCKETIO_CHANNEL": "partpulse-capacity",
            "BCRYPT_ROUNDS": "4",
            "EVENT_RELAY": "1",
            "RELAY_INTERVAL_SECONDS": "0.2",
            "VAR_DIR": str(self.log_dir / "var"),
        }
        for key in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "SOCKETIO_CHANNEL", "RELAY_INTERVAL_SECONDS"):
            os.environ[key] = self.env[key]
        # This process only writes events: the worker's own relay sends them
        # (every gateway and worker process runs one), so it is counted.
        os.environ["EVENT_RELAY"] = "0"

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
            capture_output=True,
        )
        wait_until(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            10,
            "redis",
        )
        from sqlalchemy import create_engine, text

        base, name = self.args.database_url.rsplit("/", 1)
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )
        from common.db import get_sessionmaker
        from common.seed import seed

        with get_sessionmaker()() as session:
            seed(session)
            session.commit()

    def teardown(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"], capture_output=True)
        from common.db import get_engine

        get_engine().dispose()

    def start_worker(self, concurrency: int) -> Proc:
        proc = Proc(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "workers",
                "worker",
                "-Q",
                "notifications,matching,scoring",
                "-n",
                "capacity@%h",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            {**self.env, "WORKER_METRICS_PORT": str(free_port())},
            self.log_dir,
        )
        self.procs.append(proc)
        wait_until(lambda: len(children(proc.pid)) >= concurrency and self._ping_ok(), 60, "worker ready")
        return proc

    def _ping_ok(self) -> bool:
        from common.events.broker import app

        return bool(app.control.ping(timeout=0.5))

    def start_gateway(self, name: str) -> tuple[Proc, str]:
        import httpx

        port = free_port()
        proc = Proc(
            name,
            [
                str(VENV_BIN / "uvicorn"),
                "gateway.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
            ],
            {**self.env, "EVENT_RELAY": "0"},
            self.log_dir,
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/api/health", timeout=2).status_code == 200, 60, f"{name}")
        return proc, url

    def token(self, email: str) -> tuple[int, str]:
        from sqlalchemy import select

        from common.db import get_sessionmaker
        from common.models import User
        from common.security import create_access_token

        with get_sessionmaker()() as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            return user.id, create_access_token(user.id, user.role)

    # ------------------------------------------------------------------ 1. worker

    def worker(self) -> list[dict[str, Any]]:
        from sqlalchemy import func, select

        from common.db import get_sessionmaker
        from common.events.bus import emit_event
        from common.events.types import EntityType
        from common.models import DeliveryState, EventLog, User
        from common.schemas.orders import OrderCreate
        from common.services.metadata import entity_ids
        from common.services.orders import place_order

        n = self.args.events
        worker = self.start_worker(concurrency=1)
        pool = children(worker.pid)
        Session = get_sessionmaker()

        def processed() -> int:
            with Session() as session:
                return int(
                    session.scalar(
                        select(func.count())
                        .select_from(EventLog)
                        .where(EventLog.state == DeliveryState.PROCESSED)
                    )
                    or 0
                )

        with Session() as session:
            buyer = session.scalar(select(User).where(User.email == "buyer@demo.test"))
            order = place_order(
                session, buyer, OrderCreate.model_validate({"items": [{"part_id": 1, "quantity": 1}]})
            )
            session.commit()
            order_id = order.id
        wait_until(lambda: processed() >= 2, 60, "the order to be placed and matched")  # PLACED, MATCHED
        with Session() as session:
            ids = entity_ids(session, EntityType.ORDER, order_id)

        def run(mode: str) -> dict[str, Any]:
            baseline = processed()
            time.sleep(1)
            cpu_main, cpu_pool = cpu_seconds(worker.pid), sum(cpu_seconds(p) for p in pool)
            started = time.monotonic()
            with Session() as session:
                for seq in range(n):
                    emit_event(session, "ORDER_DISPATCHED", "order", order_id, metadata={**ids, "seq": seq})
                    if mode == "one event per transaction":
                        session.commit()
                session.commit()
            wait_until(lambda: processed() >= baseline + n, 600, f"{n} events")
            finished = time.monotonic()
            d_main = cpu_seconds(worker.pid) - cpu_main
            d_pool = sum(cpu_seconds(p) for p in pool) - cpu_pool
            return {
                "mode": mode,
                "events": n,
                "events_per_s": n / (finished - started),
                "pool_cpu_ms_per_event": 1000 * d_pool / n,
                "main_cpu_ms_per_event": 1000 * d_main / n,
                "cpu_bound_events_per_s": n / d_pool if d_pool else float("nan"),
            }

        results = [run("one event per transaction"), run(f"{n} events in one transaction")]
        worker.stop()
        self.procs.remove(worker)
        return results

    # ------------------------------------------------------------------ 2 and 3. gateways

    async def _connect(self, url: str, token: str, count: int, on_note: Callable[[Any], None]) -> list[Any]:
        import socketio

        clients = []
        for start in range(0, count, 25):  # 25 at a time: the gateway authenticates each in a thread
            batch = [socketio.AsyncClient(reconnection=False) for _ in range(min(25, count - start))]
            for client in batch:
                client.on("notification", on_note)
            await asyncio.gather(
                *[
                    c.connect(
                        url,
                        socketio_path="ws",
                        auth={"token": token},
                        transports=["websocket"],
                        wait_timeout=30,
                    )
                    for c in batch
                ]
            )
            clients += batch
        return clients

    async def gateways(self, n_gateways: int) -> dict[str, Any]:
        from common.config import Settings
        from common.events.publisher import Emit, _emit_message, user_room

        # The channel the gateways listen on: the name plus the Redis db number.
        channel = Settings(
            redis_url=self.env["REDIS_URL"], socketio_channel_name=self.env["SOCKETIO_CHANNEL"]
        ).socketio_channel

        sockets, messages = self.args.sockets, self.args.messages
        gws = [self.start_gateway(f"gateway-{n_gateways}-{i}") for i in range(n_gateways)]
        buyer_id, buyer_token = self.token("buyer@demo.test")
        _, other_token = self.token("buyer2@demo.test")
        received = 0
        done = asyncio.Event()
        total = messages * sockets

        def on_note(_data: Any) -> None:
            nonlocal received
            received += 1
            if received >= total:
                done.set()

        first_pid = gws[0][0].pid
        rss0, cpu0 = rss_kib(first_pid), cpu_seconds(first_pid)
        t0 = time.monotonic()
        clients = await self._connect(gws[0][1], buyer_token, sockets, on_note)
        connect_s = time.monotonic() - t0
        await asyncio.sleep(1)
        socket_figures = {
            "sockets": sockets,
            "rss_kib_per_socket": (rss_kib(first_pid) - rss0) / sockets,
            "cpu_ms_per_connect": 1000 * (cpu_seconds(first_pid) - cpu0) / sockets,
            "connects_per_s": sockets / connect_s,
        }
        for _proc, url in gws[1:]:
            clients += await self._connect(url, other_token, sockets, lambda _d: None)
        await asyncio.sleep(1)

        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        payload = {
            "id": 0,
            "event_type": "ORDER_DISPATCHED",
            "title": "Order Dispatched",
            "message": "Your order is on its way",
            "metadata": {"order_id": 1, "factory_id": 1},
            "link": "/orders/1",
            "is_read": False,
            "timestamp": "2026-01-01T00:00:00+00:00",
        }
        before = [cpu_seconds(proc.pid) for proc, _ in gws]
        started = time.monotonic()
        batch = 50
        for offset in range(0, messages, batch):
            pipe = client.pipeline(transaction=False)
            for seq in range(offset, min(messages, offset + batch)):
                emit = Emit("notification", {**payload, "id": seq}, user_room(buyer_id))
                pipe.publish(channel, json.dumps(_emit_message(emit)))  # one message per emit
            pipe.execute()
            await asyncio.sleep(0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=300)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.5)  # let the other gateways finish reading the channel
        spent = [cpu_seconds(proc.pid) - b for (proc, _), b in zip(gws, before, strict=True)]
        await asyncio.gather(*[c.disconnect() for c in clients], return_exceptions=True)
        for proc, _ in gws:
            proc.stop()
            self.procs.remove(proc)
        client.close()
        others = spent[1:]
        return {
            "gateways": n_gateways,
            **socket_figures,
            "messages": messages,
            "delivered": received,
            "socket_msgs_per_s": received / elapsed,
            "channel_msgs_per_s": (received / sockets) / elapsed,
            "deliverer_cpu_ms_per_msg": 1000 * spent[0] / messages,
            "deliverer_cpu_ms_per_socket_msg": 1000 * spent[0] / max(1, received),
            "bystander_cpu_ms_per_msg": (1000 * sum(others) / len(others) / messages) if others else 0.0,
            "cluster_cpu_ms_per_msg": 1000 * sum(spent) / messages,
        }


def report(worker: list[dict[str, Any]] | None, gateways: list[dict[str, Any]], argv: list[str]) -> None:
    print()
    print(f"command: {' '.join(argv)}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    if worker:
        print()
        print(
            "| worker, one pool process (ORDER_DISPATCHED, 1 recipient) | events/s | CPU/event, pool process "
            "| CPU/event, main process (relay, dispatch) | events/s with a core to itself |"
        )
        print("|---|---|---|---|---|")
        for w in worker:
            print(
                f"| {w['mode']} | {w['events_per_s']:.0f} | {w['pool_cpu_ms_per_event']:.2f} ms "
                f"| {w['main_cpu_ms_per_event']:.2f} ms | {w['cpu_bound_events_per_s']:.0f} |"
            )
    if gateways:
        g = gateways[0]
        print()
        print("| gateway sockets | figure |")
        print("|---|---|")
        print(f"| memory per connected socket | {g['rss_kib_per_socket']:.0f} KiB |")
        print(f"| CPU per connect (token check, rooms, unread count) | {g['cpu_ms_per_connect']:.2f} ms |")
        print(f"| connects/s ({g['sockets']} sockets, 25 at a time) | {g['connects_per_s']:.0f} |")
        print()
        print(
            "| N gateways | socket messages/s delivered by the first | CPU per message, delivering gateway "
            "| CPU per socket message | CPU per message, each other gateway (receive and drop) "
            "| CPU per message, all gateways |"
        )
        print("|---|---|---|---|---|---|")
        for g in gateways:
            other = f"{g['bystander_cpu_ms_per_msg']:.3f} ms" if g["gateways"] > 1 else "—"
            print(
                f"| {g['gateways']} | {g['socket_msgs_per_s']:.0f} ({g['delivered']}/"
                f"{g['messages'] * g['sockets']}) | {g['deliverer_cpu_ms_per_msg']:.3f} ms "
                f"| {g['deliverer_cpu_ms_per_socket_msg']:.3f} ms | {other} "
                f"| {g['cluster_cpu_ms_per_msg']:.3f} ms |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg2://postgres@127.0.0.1:5432/partpulse_capacity",
        help="a PostgreSQL database this script drops and recreates",
    )
    parser.add_argument("--events", type=int, default=1000, help="events for the worker run")
    parser.add_argument("--messages", type=int, default=5000, help="channel messages per gateway run")
    parser.add_argument("--sockets", type=int, default=50, help="sockets per gateway")
    parser.add_argument("--gateways", default="1,2,4", help="gateway counts to measure")
    parser.add_argument("--skip-worker", action="store_true")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    bench = Bench(args)
    worker_result = None
    gateway_results: list[dict[str, Any]] = []
    try:
        bench.setup()
        if not args.skip_worker:
            print("==> worker: one pool process", flush=True)
            worker_result = bench.worker()
            print(worker_result, flush=True)
        for n in [int(x) for x in args.gateways.split(",") if x]:
            print(f"==> {n} gateway(s)", flush=True)
            result = asyncio.run(bench.gateways(n))
            print(result, flush=True)
            gateway_results.append(result)
    finally:
        bench.teardown()
        print(f"process logs: {bench.log_dir}")
    report(worker_result, gateway_results, [Path(sys.executable).name, *sys.argv])


if __name__ == "__main__":
    main()
