"""The socket path against Node's: the project's gateway vs socket.io 4.8 + @socket.io/redis-adapter.

Both servers run on this machine in the same sitting, one process each, on a
Redis and a database of their own (capacity.py's set-up), and are driven by the
same load client (bench/node_peer/client.mjs, socket.io-client 4.8):

1. **Connect**: `--sockets` users (one socket each) connect, 50 at a time.
   Each server verifies the HS256 token and reads the user (the Node peer:
   jsonwebtoken and one prepared `pg` query; the gateway: its own connect
   handler, which also sends the unread count). CPU per connect and memory
   per connected socket (RSS with the sockets minus RSS before) are the
   server process's.
2. **Messages**: `--rate` notifications per second for `--seconds`, each to one
   user (round-robin), open loop, published from a process of its own on the
   user's room channel (for the gateway as the workers publish; for the peer
   by a socket.io server with the same adapter, `io.to(room).emit`). Reports
   messages delivered per CPU-second of the server process, and of the server
   plus redis-server.
3. **Fan-out** (`--fan-out`, the gateway only): one LOW_STOCK_ALERT event to
   that many connected admins, timed at the Node client from the request to
   the first, the median and the last arrival (Python clients on the same two
   cores would time themselves). Needs a worker: one is started.

The servers alternate `--rounds` times (gateway, peer, gateway, peer...); the
tables give the median with the spread. The bench installs the peer's npm
packages into var/bench/node-peer itself (pinned in bench/node_peer/package.json).

    .venv/bin/python bench/socket_peer.py                         # C = 1,000, 500/s for 10 s
    .venv/bin/python bench/socket_peer.py --sockets 200 --seconds 4 --rounds 1 --fan-out
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import capacity  # bench/ is on sys.path: run as a script
import throughput
from procstats import cpu_seconds, free_port

ROOT = Path(__file__).resolve().parent.parent
PEER_SOURCE = ROOT / "bench" / "node_peer"
PEER_DIR = ROOT / "var" / "bench" / "node-peer"


def install_peer() -> None:
    """The peer's packages, from npm, once per package.json; its scripts beside them."""
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    wanted = (PEER_SOURCE / "package.json").read_text()
    installed = PEER_DIR / "package.json"
    if not (PEER_DIR / "node_modules").exists() or not installed.exists() or installed.read_text() != wanted:
        installed.write_text(wanted)
        print("==> npm install (the Node peer's packages)", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
        )
    for script in PEER_SOURCE.glob("*.mjs"):
        shutil.copy(script, PEER_DIR / script.name)


class NodeProcess:
    """A Node script of the peer, spoken to by one JSON line each way."""

    def __init__(self, script: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["node", script],
            cwd=PEER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"node {self.proc.args[1]} exited ({self.proc.wait()})")
        return dict(json.loads(line))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def redis_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def total_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


class PeerBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = capacity.Bench(
            argparse.Namespace(database_url=args.database_url, per_gateway_rate=0, single_rate=0)
        )
        self.env = {**self.base.env, "MAX_SOCKETS_PER_GATEWAY": "100000"}
        self.base.env = self.env

    def start_server(self, kind: str) -> tuple[Any, str]:
        """`node`, or a gateway: `gateway` (this tree), `name@REV` (git revision REV's code),
        either with `:VAR=value,...` (its environment, uvicorn's UVICORN_* options included)."""
        if kind != "node":
            name, env = throughput.parse_variant(kind)
            return self.base.start_gateway(f"gateway-{name}", throughput.source_tree(name), env)
        port = free_port()
        pg_url = self.args.database_url.replace("postgresql+psycopg2://", "postgresql://")
        proc = NodeProcess(
            "server.mjs",
            {**self.env, "PORT": str(port), "PG_URL": pg_url, "REDIS_URL": self.env["REDIS_URL"]},
        )
        line = proc.proc.stdout.readline() if proc.proc.stdout else ""
        if "listening" not in line:
            raise SystemExit(f"the Node peer did not start: {line!r}")
        return proc, f"http://127.0.0.1:{port}"

    def stop_server(self, server: Any) -> None:
        server.stop()
        if server in self.base.procs:
            self.base.procs.remove(server)

    def round(self, kind: str, users: list[tuple[int, str]]) -> dict[str, Any]:
        server, url = self.start_server(kind)
        client = NodeProcess("client.mjs", self.env)
        try:
            time.sleep(1)
            rss0, cpu0, t0 = capacity.rss_kib(server.pid), cpu_seconds(server.pid), time.monotonic()
            answer = client.ask({"connect": {"url": url, "tokens": [t for _, t in users]}})
            connect_s = time.monotonic() - t0
            time.sleep(2)  # what a connect sends after its acknowledgement (the unread count)
            cpu1, rss1 = cpu_seconds(server.pid), capacity.rss_kib(server.pid)
            if answer["connected"] != len(users):
                raise SystemExit(f"{kind}: {answer['failed']} of {len(users)} sockets were refused")
            before = client.ask({"count": True})["received"]
            messages = int(self.args.rate * self.args.seconds)
            publisher = self.publisher(kind)
            redis = redis_pids()
            cpu2, redis2, t2 = cpu_seconds(server.pid), total_cpu(redis), time.monotonic()
            publisher.ask(
                {
                    "users": [u for u, _ in users],
                    "messages": messages,
                    "rate": self.args.rate,
                    "payload": PAYLOAD,
                }
            )
            deadline = time.monotonic() + 60
            while client.ask({"count": True})["received"] - before < messages and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.monotonic() - t2
            cpu3, redis3 = cpu_seconds(server.pid), total_cpu(redis)
            delivered = client.ask({"count": True})["received"] - before
            publisher.stop()
            return {
                "server": kind,
                "sockets": len(users),
                "connect_cpu_ms": 1000 * (cpu1 - cpu0) / len(users),
                "connects_per_s": len(users) / connect_s,
                "kib_per_socket": (rss1 - rss0) / len(users),
                "delivered": delivered,
                "messages": messages,
                "msgs_per_s": delivered / elapsed,
                "msgs_per_server_cpu_s": delivered / max(1e-9, cpu3 - cpu2),
                "msgs_per_cpu_s_with_redis": delivered / max(1e-9, cpu3 - cpu2 + redis3 - redis2),
            }
        finally:
            client.ask({"close": True})
            client.stop()
            self.stop_server(server)

    def publisher(self, kind: str) -> Any:
        if kind == "node":
            proc = NodeProcess("publisher.mjs", self.env)
            proc.read()  # ready
            return proc
        proc = GatewayPublisher(self.env)
        proc.read()  # ready: its imports done
        return proc


class GatewayPublisher:
    """The gateway's side of the same job, in a Python process of its own: one SPUBLISH per
    message on the user's room channel, as the workers' publisher sends them."""

    SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, "bench")
import capacity
from common.events.publisher import Emit, user_room
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    users = job["users"]
    emit = lambda n: Emit("notification", {**job["payload"], "id": n}, user_room(users[n % len(users)]))
    asyncio.run(capacity.send_single(emit, job["messages"], job["rate"]))
    print(json.dumps({"sent": job["messages"]}), flush=True)
"""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    ask = NodeProcess.ask
    read = NodeProcess.read
    stop = NodeProcess.stop


PAYLOAD = {**capacity.PAYLOAD}


def spread(values: list[float], fmt: str) -> str:
    return capacity.spread(values, fmt)


def report(results: list[dict[str, Any]], argv: list[str]) -> None:
    kinds = list(dict.fromkeys(r["server"] for r in results))
    gateways = [k for k in kinds if k != "node"]
    by = {kind: [r for r in results if r["server"] == kind] for kind in kinds}
    print()
    print(f"command: {' '.join(argv)}")
    print(f"median (min-max) of {len(by['node'])} alternating rounds per server, one process each\n")
    ratio_names = " | ".join(f"{g} / Node" for g in gateways)
    print(f"| figure | {' | '.join(gateways)} | Node peer | {ratio_names} | target |")
    print("|---|" + "---|" * (2 * len(gateways) + 2))

    def median(kind: str, key: str) -> float:
        values = sorted(r[key] for r in by[kind])
        return values[len(values) // 2]

    rows = [
        ("messages per server CPU-s", "msgs_per_server_cpu_s", "{:.0f}", "≥ 0.9×"),
        ("messages per CPU-s, server + redis-server", "msgs_per_cpu_s_with_redis", "{:.0f}", ""),
        ("messages/s delivered", "msgs_per_s", "{:.0f}", ""),
        ("CPU per connect (ms)", "connect_cpu_ms", "{:.2f}", "≤ 2×"),
        ("connects/s (50 at a time)", "connects_per_s", "{:.0f}", ""),
        ("memory per connected socket (KiB)", "kib_per_socket", "{:.1f}", "≤ 1.5×"),
    ]
    for label, key, fmt, target in rows:
        values = " | ".join(spread([r[key] for r in by[kind]], fmt) for kind in [*gateways, "node"])
        ratios = " | ".join(f"{median(g, key) / max(1e-9, median('node', key)):.2f}×" for g in gateways)
        print(f"| {label} | {values} | {ratios} | {target} |")


def fan_out(bench: PeerBench, recipients: int) -> dict[str, Any]:
    """One LOW_STOCK_ALERT to `recipients` connected admins (and the demo admin), timed at the
    Node client: request -> first / median / last arrival."""
    import httpx

    worker = bench.base.start_worker(2, "stock,notifications")
    # As `make run` starts it: the gateway's own outbox relay hands its events to the broker
    # (the socket-path rounds leave it off; here the worker's relay would find the event only
    # at its next poll, RELAY_INTERVAL_SECONDS).
    name, env = throughput.parse_variant(bench.args.gateways[-1])
    gateway, url = bench.base.start_gateway(
        f"gateway-{name}", throughput.source_tree(name), {**env, "EVENT_RELAY": "1"}
    )
    client = NodeProcess("client.mjs", bench.env)
    try:
        tokens = throughput.bench_admins(bench.args.database_url, bench.env["JWT_SECRET"], recipients)
        _, admin = bench.base.token("admin@demo.test")
        body = {"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}
        # Warm-up: the same event to the same admins, not yet connected (a fresh worker's first
        # batch compiles its statements; the timed one should not pay for that).
        warm = httpx.post(f"{url}/api/events/", json=body, headers={"Authorization": f"Bearer {admin}"})
        wait_processed(warm.json()["event_id"])
        answer = client.ask({"connect": {"url": url, "tokens": tokens}})
        time.sleep(2)
        tag = f"fan-out-{recipients}-{time.time()}"
        body["metadata"] = {"bench_fanout": tag}
        fired = time.time() * 1000
        response = httpx.post(
            f"{url}/api/events/", json=body, headers={"Authorization": f"Bearer {admin}"}, timeout=30
        )
        response.raise_for_status()
        deadline = time.monotonic() + 60
        arrivals: list[float] = []
        while time.monotonic() < deadline:
            arrivals = client.ask({"arrivals": tag})["arrivals"]
            if len(arrivals) >= answer["connected"]:
                break
            time.sleep(0.1)
        ms = sorted(a - fired for a in arrivals) or [float("nan")]
        return {
            "recipients": answer["connected"],
            "received": len(arrivals),
            "first_ms": ms[0],
            "p50_ms": ms[len(ms) // 2],
            "last_ms": ms[-1],
            **server_stages(response.json()["event_id"], fired),
        }
    finally:
        client.ask({"close": True})
        client.stop()
        bench.stop_server(gateway)
        bench.stop_server(worker)
        throughput.retire_bench_admins(bench.args.database_url)


def server_stages(event_id: int, fired_ms: float) -> dict[str, float]:
    """The server's side of a fan-out, ms after the request was sent: the event row written,
    handed to the broker, and handled by the worker (processed_at: its notification rows
    written, just before the commit and the publish). The rest, to the last arrival, is the
    commit, the publish, the gateway's writes and the client's reads."""
    from sqlalchemy import text

    from common.db import get_engine

    query = "SELECT created_at, queued_at, processed_at FROM event_logs WHERE id = :id"
    with get_engine().connect() as connection:
        row = connection.execute(text(query), {"id": event_id}).one()

    def after(at: Any) -> float:
        return at.timestamp() * 1000 - fired_ms if at is not None else float("nan")

    return {"row_ms": after(row[0]), "queued_ms": after(row[1]), "handled_ms": after(row[2])}


def describe(fan: dict[str, Any]) -> str:
    return (
        f"fan-out: one LOW_STOCK_ALERT to {fan['recipients']} connected admins (Node client): "
        f"first {fan['first_ms']:.0f} ms, p50 {fan['p50_ms']:.0f} ms, last {fan['last_ms']:.0f} ms "
        f"({fan['received']}/{fan['recipients']} received); server: row {fan['row_ms']:.0f} ms, "
        f"to the broker {fan['queued_ms']:.0f} ms, handled (rows written) {fan['handled_ms']:.0f} ms"
    )


def medians(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per server, the median of each figure over its rounds."""
    by: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(r["server"] for r in results):
        mine = [r for r in results if r["server"] == kind]
        keys = [k for k, v in mine[0].items() if isinstance(v, float)]
        by[kind] = {k: sorted(r[k] for r in mine)[len(mine) // 2] for k in keys}
    return by


def wait_processed(event_id: int) -> None:
    from sqlalchemy import text

    from common.db import get_engine

    def processed() -> bool:
        with get_engine().connect() as connection:
            state = connection.execute(text("SELECT state FROM event_logs WHERE id = :id"), {"id": event_id})
            return state.scalar_one() == "PROCESSED"

    capacity.wait_until(processed, 120, f"event {event_id} processed")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg2://postgres@127.0.0.1:5432/partpulse_peer",
        help="a PostgreSQL database this script drops and recreates",
    )
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500, help="single-user messages per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the medians and fan-outs (bench/report.py)")
    parser.add_argument(
        "--gateways",
        nargs="*",
        default=["gateway"],
        help="gateway variants beside the peer: `gateway` (this tree) or `name@REV`, either with "
        "`:VAR=value,...`, e.g. before@HEAD~1 gateway sansio:UVICORN_WS=websockets-sansio",
    )
    parser.add_argument("--fan-out", type=int, nargs="*", default=[1000, 10000], help="connected admins")
    args = parser.parse_args()
    if not shutil.which("node"):
        raise SystemExit("node is needed (apt-get install nodejs npm)")
    install_peer()
    bench = PeerBench(args)
    results: list[dict[str, Any]] = []
    fan_outs: list[dict[str, Any]] = []
    try:
        bench.base.setup()
        users = bench.base.recipients(args.sockets)
        for round_ in range(args.rounds):
            for kind in [*args.gateways, "node"]:
                print(f"==> round {round_ + 1}: {kind}", flush=True)
                results.append(bench.round(kind, users))
                print(results[-1], flush=True)
        for recipients in args.fan_out:
            print(f"==> fan-out to {recipients}", flush=True)
            fan_outs.append(fan_out(bench, recipients))
            print(describe(fan_outs[-1]), flush=True)
    finally:
        bench.base.teardown()
        print(f"process logs: {bench.base.log_dir}")
    if results:
        report(results, [Path(sys.executable).name, *sys.argv])
    for fan in fan_outs:
        print(describe(fan))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"medians": medians(results), "fan_out": fan_outs}, indent=1))
        print(f"\nresults: {args.json}")


if __name__ == "__main__":
    main()
