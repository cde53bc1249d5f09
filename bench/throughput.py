"""`make bench`: the event engine under an open-loop load, on a stack it starts itself.

It starts PartPulse as `make run` does in distributed mode (scripts/run.sh:
gateway, workers, Flower) on a fresh database of its own and Redis db 9, then:

1. Fires `POST /api/events/` (ORDER_DISPATCHED, told to the buyer) on a fixed
   schedule -- request i leaves at t0 + i/rate whatever the earlier ones took
   (open loop) -- and times each from its scheduled send to the `notification`
   reaching a connected buyer socket. Reports percentiles, delivered per
   second, lost, request errors and the CPU each process spent per event
   (from /proc, summed per role; PostgreSQL and Redis apart: they are shared
   with anything else running on the machine), and where an event's time goes:
   p50/p99 from the send to each milestone (the 202, the row built, handed to
   the broker, the worker's first row, processed, at the socket), read from
   the event's and its notifications' times in the database (`--rates`:
   150, 300, 600, 800).
   The same through `POST /api/events/batch` (100 events a request,
   `--batch-rates`) and for the engine alone (`--engine-rates`: a producer
   process calling emit_event in its own transactions, no HTTP; 1,500/s).
2. A sweep: the highest offered rate whose end-to-end p99 stays <= 100 ms.
3. The burst: one `PUT /api/inventory/` of 5,000 rows that all cross below
   their thresholds, timed until the supplier's socket has all 5,000
   LOW_STOCK_ALERTs, with an order placed meanwhile timed to its
   SUPPLIER_MATCHED.

    make bench                                   # everything, then bench/socket_peer.py and the
                                                 # targets' table (bench/report.py)
    .venv/bin/python bench/throughput.py --rates 150 300 --seconds 10 --no-sweep --no-burst
    .venv/bin/python bench/throughput.py --no-sweep --no-burst --variants shipped \\
        no-batching:RELAY_BATCH=1,RELAY_LINGER_SECONDS=0   # levers side by side
    .venv/bin/python bench/throughput.py --no-sweep --no-burst --variants before@HEAD~1 after
                                                 # a code change: git revision HEAD~1, then this tree
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import socketio
from procstats import cpu_seconds, free_port  # bench/ is on sys.path: run as a script
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from common.models import User

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "partpulse_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


# ---------------------------------------------------------------- the stack


class Stack:
    """scripts/run.sh in distributed mode, in a session of its own so its processes can be found."""

    def __init__(self, extra_env: dict[str, str] | None = None, tree: Path = ROOT) -> None:
        self.tree = tree
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"{PG_BASE}/{DB_NAME}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "JWT_SECRET": "bench-secret-0123456789-0123456789-0123456789",
            "PORT": str(self.port),
            "FLOWER_PORT": str(free_port()),
            "FLOWER_BASIC_AUTH": "bench:bench-password",
            "WORKER_METRICS_PORT": str(free_port()),
            "VAR_DIR": str(ROOT / "var" / "bench"),
            # The tree's own code first, ahead of the editable install (which points at ROOT).
            "PYTHONPATH": str(tree),
            **(extra_env or {}),
        }
        self.log_path = ROOT / "var" / "bench" / "stack.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        _recreate_database(self.database_url)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["./scripts/run.sh"],
            cwd=self.tree,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"the stack exited; see {self.log_path}")
            time.sleep(0.3)
        else:
            raise SystemExit(f"the gateway did not start; see {self.log_path}")
        time.sleep(4)  # workers and Flower finish starting

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def processes(self) -> dict[int, str]:
        """pid -> role for every process of the stack."""
        assert self.proc is not None
        roles: dict[int, str] = {}
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            pid, ppid, session = int(entry.name), int(fields[1]), int(fields[3])
            if session != self.proc.pid:
                continue
            parents[pid] = ppid
            if "uvicorn" in cmdline:
                roles[pid] = "gateway"
            elif "flower" in cmdline:
                roles[pid] = "flower"
            elif "beat" in cmdline and "celery" in cmdline:
                roles[pid] = "beat"
            elif "celery" in cmdline and "worker" in cmdline:
                roles[pid] = "worker"
        workers = {pid for pid, role in roles.items() if role == "worker"}
        for pid in workers:
            roles[pid] = "worker pool" if parents.get(pid) in workers else "worker main"
        return roles


def _recreate_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    found: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that exited meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def pids_named(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class CpuMeter:
    """CPU seconds per role between start() and stop(), by /proc."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.extra: dict[str, list[int]] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        by_role: dict[str, list[int]] = {role: list(pids) for role, pids in self.extra.items()}
        for pid, role in self.stack.processes().items():
            by_role.setdefault(role, []).append(pid)
        by_role["postgres (machine)"] = pids_named("postgres")
        by_role["redis (machine)"] = pids_named("redis-server")
        by_role["load generator"] = [os.getpid()]
        return {role: cpu_by_pid(pids) for role, pids in by_role.items()}

    def start(self, extra: dict[str, list[int]] | None = None) -> None:
        """`extra`: more processes to count, by role (the engine case's producer)."""
        self.extra = extra or {}
        self.before = self._sample()
        self.started = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Per role, what its processes spent meanwhile; one that exited meanwhile (a
        PostgreSQL backend) is left out, one that started counts from zero."""
        after = self._sample()
        return {
            role: sum(cpu - self.before.get(role, {}).get(pid, 0.0) for pid, cpu in pids.items())
            for role, pids in after.items()
        }


# ---------------------------------------------------------------- clients


async def login(http: aiohttp.ClientSession, base: str, email: str) -> str:
    async with http.post(f"{base}/api/auth/login", json={"email": email, "password": "demo1234"}) as r:
        r.raise_for_status()
        return str((await r.json())["access_token"])


async def listen(base: str, token: str, on_notification: Any) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=True)
    client.on("notification", on_notification)
    await client.connect(base, socketio_path="ws", auth={"token": token}, transports=["websocket"])
    return client


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class RunResult:
    rate: float
    seconds: float
    sent: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    delivered_per_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.sent - self.errors - len(self.latencies_ms)

    def row(self) -> str:
        lat = self.latencies_ms
        return (
            f"| {self.rate:>5.0f} | {self.delivered_per_s:>7.1f} | {percentile(lat, 50):>6.1f} "
            f"| {percentile(lat, 95):>6.1f} | {percentile(lat, 99):>7.1f} "
            f"| {self.lost:>4} | {self.errors:>6} "
            f"| {self.cpu_per_event('gateway'):>5.2f} | {self.cpu_per_event('workers'):>5.2f} "
            f"| {self.cpu_per_event('flower'):>5.2f} | {self.cpu_per_event('postgres (machine)'):>5.2f} |"
        )

    def summary(self) -> dict[str, Any]:
        """The figures bench/report.py reads; CPU in ms per delivered event."""
        stack_roles = ("gateway", "workers", "flower")
        return {
            "rate": self.rate,
            "delivered_per_s": self.delivered_per_s,
            "p50_ms": percentile(self.latencies_ms, 50),
            "p99_ms": percentile(self.latencies_ms, 99),
            "lost": self.lost,
            "errors": self.errors,
            "cpu_stack_ms": sum(self.cpu_per_event(r) for r in stack_roles),
            "cpu_all_ms": 1000 * sum(self.cpu.values()) / max(1, len(self.latencies_ms)),
            "cpu_ms": {role: self.cpu_per_event(role) for role in self.cpu},
            "stages": self.stages,
        }

    def cpu_per_event(self, role: str) -> float:
        delivered = max(1, len(self.latencies_ms))
        if role == "workers":
            seconds = sum(v for k, v in self.cpu.items() if k.startswith("worker") or k == "beat")
        else:
            seconds = self.cpu.get(role, 0.0)
        return 1000 * seconds / delivered


HEADER = (
    "| offered/s | delivered/s | p50 ms | p95 ms | p99 ms | lost | errors "
    "| gateway ms CPU/event | workers | flower | postgres |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


# The batch endpoint's case: this many events per `POST /api/events/batch`.
BATCH_EVENTS = 100


async def open_loop_run(
    stack: Stack, rate: float, seconds: float, drain: float = 20.0, mode: str = "http"
) -> RunResult:
    """One open-loop run of `rate` events per second for `seconds`, timed from each event's
    scheduled send to its `notification` at a connected buyer's socket. `mode`: `http`, one
    `POST /api/events/` per event fired on schedule from this process; `batch`, one
    `POST /api/events/batch` of BATCH_EVENTS events every BATCH_EVENTS / rate seconds;
    `engine`, bench/producer.py calling emit_event in a process of its own (no HTTP)."""
    engine = mode == "engine"
    per_request = BATCH_EVENTS if mode == "batch" else 1
    base = stack.url
    result = RunResult(rate, seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        admin = {"Authorization": f"Bearer {await login(http, base, 'admin@demo.test')}"}
        buyer_token = await login(http, base, "buyer@demo.test")
        async with http.post(
            f"{base}/api/orders/",
            json={"items": [{"part_id": 1, "quantity": 1}]},
            headers={"Authorization": f"Bearer {buyer_token}"},
        ) as r:
            order_id = (await r.json())["id"]
        run_tag = f"{rate}-{time.time()}"
        received: dict[int, float] = {}  # seq -> wall clock at the socket
        answered: dict[int, float] = {}  # seq -> wall clock of the 202 (HTTP path)
        total = int(rate * seconds)
        all_in = asyncio.Event()

        async def on_notification(data: dict[str, Any]) -> None:
            meta = data.get("metadata") or {}
            if meta.get("bench_run") == run_tag:
                received.setdefault(meta["seq"], time.time())
                if len(received) >= total - result.errors:
                    all_in.set()

        listener = await listen(base, buyer_token, on_notification)
        await asyncio.sleep(0.5)
        body = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order_id}

        async def fire(seq: int) -> None:
            try:
                async with http.post(
                    f"{base}/api/events/",
                    json={**body, "metadata": {"bench_run": run_tag, "seq": seq}},
                    headers=admin,
                ) as r:
                    if r.status != 202:
                        result.errors += 1
                    await r.read()
                    answered[seq] = time.time()
            except (aiohttp.ClientError, TimeoutError):
                result.errors += 1

        async def fire_batch(first: int) -> None:
            seqs = range(first, min(total, first + per_request))
            events = [{**body, "metadata": {"bench_run": run_tag, "seq": seq}} for seq in seqs]
            try:
                async with http.post(f"{base}/api/events/batch", json={"events": events}, headers=admin) as r:
                    if r.status != 202:
                        result.errors += len(events)
                    await r.read()
                    answered.update(dict.fromkeys(seqs, time.time()))
            except (aiohttp.ClientError, TimeoutError):
                result.errors += len(events)

        meter = CpuMeter(stack)
        start = time.time() + (1.0 if engine else 0.05)  # the producer needs a moment to start
        producer = start_producer(stack, rate, seconds, start, order_id, run_tag) if engine else None
        meter.start(extra={"producer": [producer.pid]} if producer else {})
        if producer is None:
            tasks = []
            for first in range(0, total, per_request):
                delay = start + first / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(fire(first) if per_request == 1 else fire_batch(first)))
            await asyncio.gather(*tasks)
        else:
            await asyncio.sleep(max(0.0, start + seconds - time.time()))
        result.sent = total
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), drain)
        result.cpu = meter.stop()
        if producer is not None:
            producer.terminate()
            producer.wait(10)
        await listener.disconnect()
    if received:
        result.delivered_per_s = len(received) / max(max(received.values()) - start, seconds)
    scheduled = {seq: start + (seq - seq % per_request) / rate for seq in received}
    result.latencies_ms = [(received[s] - scheduled[s]) * 1000 for s in received]
    result.stages = stage_breakdown(stack, run_tag, scheduled, answered, received)
    return result


def start_producer(
    stack: Stack, rate: float, seconds: float, start: float, order_id: int, tag: str
) -> subprocess.Popen[bytes]:
    args = ["--rate", str(rate), "--seconds", str(seconds), "--start", str(start)]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "producer.py"), *args, "--order", str(order_id), "--tag", tag],
        cwd=stack.tree,
        env={**stack.env, "EVENT_RELAY": "1"},
    )


# Where an event's time goes, milestone by milestone: the request sent (its schedule), the event
# row built in the gateway (created_at: the request read, authenticated, validated), handed to
# the broker (queued_at: the group commit, the relay's wake and linger, the send), the first
# notification row built in the worker (the broker, the worker's pickup, the handler's reads),
# the event marked processed (the handler's writes), the socket (the commit, the publish, the
# gateway, the client). The 202 is beside them.
STAGES = ("row built", "to broker", "worker has it", "processed", "at the socket")


def stage_breakdown(
    stack: Stack,
    tag: str,
    scheduled: dict[int, float],
    answered: dict[int, float],
    received: dict[int, float],
) -> dict[str, tuple[float, float]]:
    """Per milestone, p50 and p99 of the time from the scheduled send to it (ms), for the events
    that reached the socket; the database's times and this process's share one clock."""
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT (e.metadata->>'seq')::int, e.created_at, e.queued_at, min(n.created_at), "
                "e.processed_at FROM event_logs e JOIN notifications n ON n.event_id = e.id "
                "WHERE e.metadata->>'bench_run' = :tag GROUP BY e.id"
            ),
            {"tag": tag},
        ).all()
    engine.dispose()
    spans: dict[str, list[float]] = {name: [] for name in ("202", *STAGES)}
    for seq, *times in rows:
        if seq not in received or None in times:
            continue
        marks = [t.timestamp() for t in times] + [received[seq]]
        for name, at in zip(STAGES, marks, strict=True):
            spans[name].append((at - scheduled[seq]) * 1000)
        if seq in answered:
            spans["202"].append((answered[seq] - scheduled[seq]) * 1000)
    return {name: (percentile(v, 50), percentile(v, 99)) for name, v in spans.items() if v}


def print_stages(result: RunResult) -> None:
    parts = ", ".join(f"{name} {p50:.0f}/{p99:.0f}" for name, (p50, p99) in result.stages.items())
    print(f"    where the time goes at {result.rate:.0f}/s (ms from the send, p50/p99): {parts}")


async def burst(stack: Stack, rows: int = 5000) -> str:
    base = stack.url
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        start_id = connection.execute(text("SELECT coalesce(max(id), 0) FROM parts")).scalar_one()
        connection.execute(
            text("INSERT INTO parts (sku, name, category) VALUES (:sku, :name, 'bench')"),
            [{"sku": f"BENCH-{start_id + i}", "name": f"Bench part {i}"} for i in range(rows)],
        )
        part_ids = [
            pid
            for (pid,) in connection.execute(
                text("SELECT id FROM parts WHERE category = 'bench' ORDER BY id")
            )
        ]
    engine.dispose()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        supplier_token = await login(http, base, "supplier2@demo.test")
        buyer_token = await login(http, base, "buyer@demo.test")
        supplier = {"Authorization": f"Bearer {supplier_token}"}

        def items(quantity: int) -> list[dict[str, Any]]:
            return [
                {
                    "part_id": pid,
                    "quantity": quantity,
                    "low_stock_threshold": 10,
                    "unit_price": 1.0,
                    "lead_time_days": 3,
                }
                for pid in part_ids
            ]

        async with http.put(f"{base}/api/inventory/", json={"items": items(100)}, headers=supplier) as r:
            if r.status != 200:
                return f"burst: the bulk import answered {r.status}: {(await r.text())[:300]}"
        await asyncio.sleep(2)
        got: set[int] = set()
        all_in = asyncio.Event()
        matched = asyncio.Event()

        async def on_low(data: dict[str, Any]) -> None:
            if data["event_type"] == "LOW_STOCK_ALERT":
                got.add(data["metadata"].get("part_id"))
                if len(got) >= rows:
                    all_in.set()

        async def on_buyer(data: dict[str, Any]) -> None:
            if data["event_type"] == "SUPPLIER_MATCHED" and data["metadata"].get("order_id") == order_box[0]:
                matched.set()

        order_box = [0]
        sup_listener = await listen(base, supplier_token, on_low)
        buyer_listener = await listen(base, buyer_token, on_buyer)
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        put = asyncio.create_task(
            http.put(f"{base}/api/inventory/", json={"items": items(5)}, headers=supplier)
        )
        await asyncio.sleep(0.3)
        t_order = time.perf_counter()
        async with http.post(
            f"{base}/api/orders/",
            json={"items": [{"part_id": 1, "quantity": 1}]},
            headers={"Authorization": f"Bearer {buyer_token}"},
        ) as r:
            order_box[0] = (await r.json())["id"]
        response = await put
        put_ms = (time.perf_counter() - t0) * 1000
        status = response.status
        response.release()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(matched.wait(), 30)
        order_ms = (time.perf_counter() - t_order) * 1000 if matched.is_set() else float("nan")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 60)
        all_ms = (time.perf_counter() - t0) * 1000
        await sup_listener.disconnect()
        await buyer_listener.disconnect()
    return (
        f"burst: PUT /api/inventory/ of {rows} rows answered {status} in {put_ms:.0f} ms; "
        f"{len(got)}/{rows} LOW_STOCK_ALERTs at the supplier's socket after {all_ms / 1000:.2f} s; "
        f"an order placed meanwhile was matched (SUPPLIER_MATCHED at the buyer) in {order_ms:.0f} ms"
    )


async def fan_out(stack: Stack, recipients: int) -> str:
    """One LOW_STOCK_ALERT (told to every admin) with `recipients` extra admins connected: the time
    from the request to the first, the median and the last of them having it, at the clients
    (Python clients in this process: their own CPU is in the figure)."""
    tokens = bench_admins(stack.database_url, stack.env["JWT_SECRET"], recipients)
    tag = f"fan-out-{recipients}-{time.time()}"
    arrivals: list[float] = []
    all_in = asyncio.Event()

    async def on_notification(data: dict[str, Any]) -> None:
        if (data.get("metadata") or {}).get("bench_fanout") == tag:
            arrivals.append(time.perf_counter())
            if len(arrivals) == recipients:
                all_in.set()

    clients: list[socketio.AsyncClient] = []
    for start in range(0, recipients, 100):
        clients += await asyncio.gather(
            *(listen(stack.url, t, on_notification) for t in tokens[start : start + 100])
        )
    await asyncio.sleep(1.0)
    async with aiohttp.ClientSession() as http:
        admin = {"Authorization": f"Bearer {await login(http, stack.url, 'admin@demo.test')}"}
        body = {"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}
        meter = CpuMeter(stack)
        meter.start()
        fired = time.perf_counter()
        async with http.post(
            f"{stack.url}/api/events/", json={**body, "metadata": {"bench_fanout": tag}}, headers=admin
        ) as r:
            r.raise_for_status()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 30)
        cpu = meter.stop()
    await asyncio.gather(*(c.disconnect() for c in clients))
    retire_bench_admins(stack.database_url)
    workers = sum(v for k, v in cpu.items() if k.startswith("worker"))
    ms = sorted((a - fired) * 1000 for a in arrivals) or [float("nan")]
    return (
        f"fan-out: one LOW_STOCK_ALERT to {recipients} connected admins: first {ms[0]:.0f} ms, "
        f"p50 {percentile(ms, 50):.0f} ms, last {ms[-1]:.0f} ms "
        f"({len(arrivals)}/{recipients} received); "
        f"CPU meanwhile: gateway {1000 * cpu.get('gateway', 0):.0f} ms, "
        f"workers {1000 * workers:.0f} ms, PostgreSQL {1000 * cpu.get('postgres (machine)', 0):.0f} ms, "
        f"this process's clients {1000 * cpu.get('load generator', 0):.0f} ms"
    )


def retire_bench_admins(database_url: str) -> None:
    """Deactivate the admins bench_admins wrote, so a later case is told to its own only."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET is_active = false WHERE email LIKE 'bench-%@example.test'"))
    engine.dispose()


def bench_admins(database_url: str, jwt_secret: str, count: int) -> list[str]:
    """`count` admin accounts written straight to the bench database, and a token for each."""
    engine = create_engine(database_url)
    tag = int(time.time() * 1000)
    rows = [
        {"email": f"bench-{tag}-{n}@example.test", "password_hash": "x", "full_name": "B", "role": "admin"}
        for n in range(count)
    ]
    with Session(engine) as session:
        ids = list(session.scalars(insert(User).returning(User.id), rows))
        session.commit()
    engine.dispose()
    now = int(time.time())
    claims = [{"sub": str(uid), "role": "admin", "iat": now, "exp": now + 1800} for uid in ids]
    return [jwt.encode(c, jwt_secret, algorithm="HS256") for c in claims]


def print_cpu(result: RunResult) -> None:
    parts = ", ".join(f"{role} {result.cpu_per_event(role):.2f}" for role in sorted(result.cpu))
    print(f"    CPU ms per delivered event at {result.rate:.0f}/s: {parts}")


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """`name:VAR=value,VAR=value` -> (name, env); a bare name is the stack as shipped."""
    name, _, assignments = text.partition(":")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return name, env


def source_tree(name: str) -> Path:
    """`before@REV` runs the code of git revision REV (a worktree under var/bench/trees); else this tree."""
    _, _, rev = name.partition("@")
    if not rev:
        return ROOT
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = ROOT / "var" / "bench" / "trees" / commit
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True)
        # The same installed packages and built web app as this tree.
        (tree / ".venv").symlink_to(ROOT / ".venv")
        if (ROOT / "frontend" / "dist").exists():
            (tree / "frontend" / "dist").symlink_to(ROOT / "frontend" / "dist")
    return tree


MODES = {
    "http": "HTTP: one `POST /api/events/` per event",
    "batch": f"the batch endpoint: `POST /api/events/batch` of {BATCH_EVENTS} events",
    "engine": "the engine alone: bench/producer.py calls emit_event in its own transactions",
}


async def run_variant(
    name: str, env: dict[str, str], args: argparse.Namespace, first: bool, record: list[dict[str, Any]]
) -> None:
    stack = Stack(env, source_tree(name))
    stack.start()
    try:
        where = f"scripts/run.sh in {stack.tree}, distributed"
        print(f"\n### {name} {env or '(as shipped)'}: {stack.url} ({where})")
        # Warm-up: the first tasks of fresh worker processes, and the first of each
        # statement (compiled once per process), are slow.
        await open_loop_run(stack, 100, 4)
        for mode, rates in (("http", args.rates), ("batch", args.batch_rates), ("engine", args.engine_rates)):
            if rates:
                print(f"\n{MODES[mode]}\n\n{HEADER}")
            for rate in rates:
                result = await open_loop_run(stack, rate, args.seconds, mode=mode)
                print(result.row(), flush=True)
                if args.cpu_detail:
                    print_cpu(result)
                    print_stages(result)
                record.append({"variant": name, "mode": mode, **result.summary()})
        if first and args.sweep:
            best = 0.0
            for rate in args.sweep_rates:
                result = await open_loop_run(stack, rate, args.seconds)
                print(result.row(), flush=True)
                if result.lost or result.errors:
                    break
                if percentile(result.latencies_ms, 99) <= 100:
                    best = rate  # the highest that met it; one noisy rate below does not end the sweep
            print(f"\nSweep: the highest offered rate with p99 <= 100 ms, nothing lost: {best:.0f} events/s")
        if first and args.burst:
            print(await burst(stack))
        for recipients in args.fan_out:
            print(await fan_out(stack, recipients), flush=True)
    finally:
        stack.stop()


async def main_async(args: argparse.Namespace) -> None:
    variants = [parse_variant(v) for v in args.variants] or [("shipped", {})]
    record: list[dict[str, Any]] = []
    for index, (name, env) in enumerate(variants):
        await run_variant(name, env, args, index == 0, record)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1))
        print(f"\nresults: {args.json}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="*", default=[150, 300, 600, 800])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--engine-rates",
        type=float,
        nargs="*",
        default=[1500],
        help="rates for the engine alone (a producer process calling emit_event, no HTTP)",
    )
    parser.add_argument(
        "--batch-rates",
        type=float,
        nargs="*",
        default=[1500],
        help=f"events per second through POST /api/events/batch, {BATCH_EVENTS} per request",
    )
    parser.add_argument("--json", type=Path, help="also write each run's figures here (bench/report.py)")
    parser.add_argument("--sweep", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--sweep-rates", type=float, nargs="*", default=[100, 200, 250, 300, 350, 400, 500, 600]
    )
    parser.add_argument("--burst", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--cpu-detail", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--fan-out", type=int, nargs="*", default=[1000], help="connected admins for the fan-out case(s)"
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        default=[],
        help="stacks to compare one after another, each `name:VAR=value,...` (the first also gets "
        "the sweep and the burst), e.g. shipped no-batching:RELAY_BATCH=1,RELAY_LINGER_SECONDS=0; "
        "`name@REV` runs git revision REV's code, e.g. before@HEAD~1 after",
    )
    args = parser.parse_args()
    # A SIGTERM (a timeout) still stops the stack it started: its processes run in a session of their own.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
