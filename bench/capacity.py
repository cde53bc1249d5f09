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
   gateways; ``--sockets`` clients connect to the first, as many clients of
   another user to each other gateway, and ``--messages`` notifications for
   the user on the first gateway are published on that user's room channel
   (issue 21). Reports what each gateway's process paid per message (CPU
   from /proc): the one that delivers it, and each other one (it holds no
   recipient, so it should not even receive it), and the messages/s the
   first delivered.
4. **Single recipient, over 1, 2 and 4 gateways** (most of PartPulse's
   traffic: one event, one user): four gateways hold three sets of
   ``--recipients`` users, one socket each: set 1 all on gateway 1, set 2
   split over gateways 1-2, set 4 over gateways 1-4. A run sends
   ``--single-messages`` notifications round-robin to one set's users, one
   SPUBLISH each, open loop at ``--single-rate`` per second (1,000: each
   message leaves on schedule, as events arrive; 0 sends them as fast as
   possible in pipelined bursts of 50, which a busy gateway reads many per
   wake-up, flattering the 1-gateway case), and again at
   ``--per-gateway-rate`` per delivering gateway (250: 250/s to one gateway,
   1,000/s over four; what adding a gateway adds, each as busy as the one
   before; at the same total rate each of four gateways is a quarter as
   busy, and a quieter process pays more per message in waking up, which is
   the rate's cost, not the gateway count's); the runs are repeated ``--rounds`` times, interleaved
   (1, 2, 4, 1, 2, 4, ...), and the table gives the median with the spread
   (min-max). CPU is above each process's idle rate (measured before the
   runs); "received" is the gateway's partpulse_delivery_seconds_count
   delta. Targets: a gateway holding no recipient receives nothing and
   spends at most 5% of the delivering gateways' CPU; the cluster's CPU per
   delivered message at 4 gateways within 1.10x of 1 gateway.

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
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import procstats  # bench/ is on sys.path: run as a script
from procstats import cpu_seconds, free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    return procstats.wait_until(check, timeout, what, error=SystemExit)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


children = procstats.child_pids


class Proc(procstats.LoggedProcess):
    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log_dir: Path, cwd: Path = ROOT
    ) -> None:
        super().__init__(name, args, env, log_dir, cwd)


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
            "METRICS_TOKEN": METRICS_TOKEN,
            # Case 3 holds --sockets sockets of one user on a gateway (issue 20's cap is 20).
            "MAX_SOCKETS_PER_USER": "100000",
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

    def start_worker(self, concurrency: int, queues: str = "notifications,matching,scoring") -> Proc:
        proc = Proc(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "workers",
                "worker",
                "-Q",
                queues,
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

    def start_gateway(
        self, name: str, tree: Path = ROOT, env: dict[str, str] | None = None
    ) -> tuple[Proc, str]:
        """A gateway process; `tree`: the source tree it runs (another git revision's worktree);
        `env`: variables beside the bench's (UVICORN_WS=wsproto: uvicorn's options too)."""
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
                "--http",
                "gateway.http_protocol:GatewayHttpProtocol",
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
            ],
            {**self.env, "EVENT_RELAY": "0", "PYTHONPATH": str(tree), **(env or {})},
            self.log_dir,
            cwd=tree,
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
        from common.events.publisher import Emit, user_room

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

        before = [cpu_seconds(proc.pid) for proc, _ in gws]
        started = time.monotonic()
        batch = 50
        for offset in range(0, messages, batch):
            emits = [
                Emit("notification", {**PAYLOAD, "id": seq}, user_room(buyer_id))
                for seq in range(offset, min(messages, offset + batch))
            ]
            publish_one_by_one(emits)
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

    # ------------------------------------------------------------------ 4. single recipient

    def recipients(self, count: int) -> list[tuple[int, str]]:
        """`count` buyers of the first factory, made for this bench; (id, token) each."""
        from sqlalchemy import insert, select

        from common.db import get_sessionmaker
        from common.models import Factory, User
        from common.security import create_access_token

        with get_sessionmaker()() as session:
            factory_id = session.scalar(select(Factory.id).order_by(Factory.id).limit(1))
            first = session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
            rows = [
                {
                    "email": f"capacity-{first + n}@example.test",
                    "password_hash": "x",
                    "full_name": f"Capacity {n}",
                    "role": "buyer",
                    "factory_id": factory_id,
                    "is_active": True,
                }
                for n in range(count)
            ]
            ids = list(session.scalars(insert(User).returning(User.id), rows))
            session.commit()
        return [(uid, create_access_token(uid, "buyer")) for uid in ids]

    async def single_recipient(self, spreads: list[int], rounds: int) -> list[dict[str, Any]]:
        import httpx
        import socketio

        from common.events.publisher import Emit, user_room

        recipients, messages = self.args.recipients, self.args.single_messages
        gws = [self.start_gateway(f"gateway-single-{i}") for i in range(max(spreads))]
        got: dict[int, int] = {}
        clients: list[Any] = []
        sets: dict[int, list[int]] = {}
        for spread in spreads:
            users = self.recipients(recipients)
            sets[spread] = [uid for uid, _ in users]
            for n, (uid, token) in enumerate(users):
                got[uid] = 0
                client = socketio.AsyncClient(reconnection=False)
                client.on("notification", lambda _d, u=uid: got.__setitem__(u, got[u] + 1))
                clients.append((client, gws[n % spread][1], token))
        for start in range(0, len(clients), 25):
            await asyncio.gather(
                *[
                    c.connect(
                        url, socketio_path="ws", auth={"token": t}, transports=["websocket"], wait_timeout=30
                    )
                    for c, url, t in clients[start : start + 25]
                ]
            )
        await asyncio.sleep(2)

        def received(url: str) -> float:
            text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
            return sum(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("partpulse_delivery_seconds_count")
            )

        pids = [proc.pid for proc, _ in gws]
        idle_started, idle_cpu = time.monotonic(), [cpu_seconds(p) for p in pids]
        await asyncio.sleep(5)
        idle_rate = [
            (cpu_seconds(p) - c) / (time.monotonic() - idle_started)
            for p, c in zip(pids, idle_cpu, strict=True)
        ]
        results = []
        # The same total rate over 1, 2, 4 gateways (each gets less as there are more), and the
        # same rate per gateway (the total grows with them: what adding a gateway adds).
        loads: list[tuple[str, Callable[[int], float]]] = [("same total", lambda _n: self.args.single_rate)]
        if self.args.per_gateway_rate and self.args.single_rate > 0:
            loads.append(("same per gateway", lambda n: self.args.per_gateway_rate * n))
        runs = [(r, load, spread) for r in range(rounds) for load in loads for spread in spreads]
        for round_, (load, rate_for), spread in runs:
            rate = rate_for(spread)
            users = sets[spread]
            base = {u: got[u] for u in users}
            want = dict(base)
            for n in range(messages):
                want[users[n % len(users)]] += 1
            counts0 = [received(url) for _, url in gws]
            cpu0, t0 = [cpu_seconds(p) for p in pids], time.monotonic()

            def emit(n: int, users: list[int] = users) -> Any:
                return Emit("notification", {**PAYLOAD, "id": n}, user_room(users[n % len(users)]))

            await send_single(emit, messages, rate)
            deadline = time.monotonic() + 120
            while any(got[u] < want[u] for u in users) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - t0
            await asyncio.sleep(0.3)  # anything stray arrives
            spent = [
                max(0.0, cpu_seconds(p) - c - idle * (time.monotonic() - t0))
                for p, c, idle in zip(pids, cpu0, idle_rate, strict=True)
            ]
            counts = [received(url) - c for (_, url), c in zip(gws, counts0, strict=True)]
            delivered = sum(got[u] - base[u] for u in users)
            deliverers, bystanders = spent[:spread], spent[spread:]
            results.append(
                {
                    "round": round_,
                    "load": load,
                    "rate": rate,
                    "gateways": spread,
                    "messages": messages,
                    "delivered": delivered,
                    "msgs_per_s": delivered / elapsed,
                    "received": counts,
                    "cluster_cpu_ms_per_msg": 1000 * sum(deliverers) / max(1, delivered),
                    # Each delivering gateway's CPU over what it received, the worst of them.
                    "deliverer_cpu_ms_per_msg": max(
                        1000 * cpu / max(1.0, got_here)
                        for cpu, got_here in zip(deliverers, counts[:spread], strict=True)
                    ),
                    "bystander_cpu_share": (max(bystanders) / (sum(deliverers) / spread))
                    if bystanders and sum(deliverers)
                    else None,
                }
            )
            print(results[-1], flush=True)
        await asyncio.gather(*[c.disconnect() for c, _, _ in clients], return_exceptions=True)
        for proc, _ in gws:
            proc.stop()
            self.procs.remove(proc)
        return results


PAYLOAD = {
    "id": 0,
    "event_type": "ORDER_DISPATCHED",
    "title": "Order Dispatched",
    "message": "Your order is on its way",
    "metadata": {"order_id": 1, "factory_id": 1},
    "link": "/orders/1",
    "is_read": False,
    "timestamp": "2026-01-01T00:00:00+00:00",
}
METRICS_TOKEN = "capacity-bench-metrics"


async def send_single(emit: Callable[[int], Any], messages: int, rate: float) -> None:
    """`messages` single-recipient messages: open loop at `rate` per second (message n leaves at
    t0 + n / rate, whatever the gateways do, as events arrive one by one), or, with rate 0, as
    fast as this process can publish them, 50 per pipelined round trip (a gateway then reads
    them in bursts, which makes a busy gateway look cheaper per message than a quiet one)."""
    if rate <= 0:
        for offset in range(0, messages, 50):
            publish_one_by_one([emit(n) for n in range(offset, min(messages, offset + 50))])
            await asyncio.sleep(0)
        return
    start, sent = time.monotonic(), 0
    while sent < messages:
        due = min(messages, int((time.monotonic() - start) * rate) + 1)
        if due > sent:
            publish_one_by_one([emit(n) for n in range(sent, due)])
            sent = due
        await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))


def publish_one_by_one(emits: list[Any]) -> None:
    """One SPUBLISH per emit (a single-recipient event each), pipelined, on the room's channel."""
    from common.events import publisher

    publisher._spublish([(e.room, publisher._pubsub_batch(e.room, [e])) for e in emits])


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    ordered = sorted(values)
    middle = ordered[len(ordered) // 2]
    return f"{fmt.format(middle)} ({fmt.format(ordered[0])}-{fmt.format(ordered[-1])})"


def report_single(results: list[dict[str, Any]]) -> None:
    if not results:
        return
    rounds = 1 + max(r["round"] for r in results)
    print()
    print(
        f"Single recipient: median (min-max) of {rounds} interleaved runs; CPU above idle; "
        "received = each gateway's partpulse_delivery_seconds_count delta"
    )
    print()
    print(
        "| load | gateways holding the recipients | messages/s offered | delivered/s | CPU per message, "
        "all gateways | vs 1 gateway | CPU per message received, the costliest delivering gateway "
        "| a gateway holding none: received, CPU vs a delivering one |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for load in dict.fromkeys(r["load"] for r in results):
        base = None
        for n in sorted({r["gateways"] for r in results}):
            mine = [r for r in results if r["gateways"] == n and r["load"] == load]
            cluster = [r["cluster_cpu_ms_per_msg"] for r in mine]
            ratio = "1.00" if base is None else spread([c / base for c in cluster], "{:.2f}")
            base = base or sorted(cluster)[len(cluster) // 2]
            stray = [x for r in mine for x in r["received"][n:]]
            shares = [r["bystander_cpu_share"] for r in mine if r["bystander_cpu_share"] is not None]
            bystander = (
                f"{int(max(stray))} received, {spread([100 * s for s in shares], '{:.1f}')} %"
                if shares
                else "—"
            )
            print(
                f"| {load} | {n} | {mine[0]['rate']:.0f} "
                f"| {spread([r['msgs_per_s'] for r in mine], '{:.0f}')} | {spread(cluster)} ms | {ratio} "
                f"| {spread([r['deliverer_cpu_ms_per_msg'] for r in mine])} ms | {bystander} |"
            )


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
            "| CPU per socket message | CPU per message, each other gateway (holds no recipient) "
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
    parser.add_argument("--recipients", type=int, default=200, help="users per single-recipient set")
    parser.add_argument("--single-messages", type=int, default=3000, help="messages per single-recipient run")
    parser.add_argument(
        "--single-rate",
        type=float,
        default=1000,
        help="single-recipient messages per second, open loop (0: as fast as possible, in bursts of 50)",
    )
    parser.add_argument(
        "--per-gateway-rate",
        type=float,
        default=250,
        help="also run the single-recipient case at this rate per delivering gateway (0: do not)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved repeats of the single-recipient runs"
    )
    parser.add_argument("--skip-worker", action="store_true")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    bench = Bench(args)
    worker_result = None
    gateway_results: list[dict[str, Any]] = []
    single_results: list[dict[str, Any]] = []
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
        spreads = [int(x) for x in args.gateways.split(",") if x]
        if spreads and args.rounds:
            print(f"==> single recipient over {spreads} gateways, {args.rounds} rounds", flush=True)
            single_results = asyncio.run(bench.single_recipient(spreads, args.rounds))
    finally:
        bench.teardown()
        print(f"process logs: {bench.log_dir}")
    report(worker_result, gateway_results, [Path(sys.executable).name, *sys.argv])
    report_single(single_results)


if __name__ == "__main__":
    main()
