"""Benchmark: API call -> `notification` on a real Socket.IO client.

Against a running PartPulse (BASE_URL, default http://127.0.0.1:8000, with the
demo data): fires ORDER_DISPATCHED through POST /api/events/ at a given rate
and reports p50/p95/p99 latency and sustained events per second; then creates
N extra admin users, connects them all, fires one LOW_STOCK_ALERT and reports
the time until the last of them has it.

    python bench/notify_latency.py --events 200 --rate 50 --fanout 100
    python -m tests.e2e_stack -- .venv/bin/python bench/notify_latency.py   # on a fresh test stack
"""

import argparse
import os
import statistics
import threading
import time
import uuid

import httpx
import socketio

BASE = os.environ.get("BASE_URL", "http://127.0.0.1:8000")


def login(client: httpx.Client, email: str, password: str = "demo1234") -> str:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


def connect(token: str, on_notification) -> socketio.Client:  # type: ignore[no-untyped-def]
    sio = socketio.Client(reconnection=False)
    sio.on("notification", on_notification)
    sio.connect(BASE, socketio_path="ws", auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return sio


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency(client: httpx.Client, admin: dict[str, str], events: int, rate: float) -> None:
    buyer_token = login(client, "buyer@demo.test")
    order = client.post(
        "/api/orders/",
        json={"items": [{"part_id": 1, "quantity": 1}]},
        headers={"Authorization": f"Bearer {buyer_token}"},
    ).json()
    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    done = threading.Event()

    def on_notification(data):  # type: ignore[no-untyped-def]
        if data["event_type"] == "ORDER_DISPATCHED" and data["metadata"].get("bench"):
            received[data["metadata"]["seq"]] = time.perf_counter()
            if len(received) == events:
                done.set()

    sio = connect(buyer_token, on_notification)
    body = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order["id"]}
    start = time.perf_counter()
    for seq in range(events):
        target = start + seq / rate
        time.sleep(max(0.0, target - time.perf_counter()))
        sent[seq] = time.perf_counter()
        client.post("/api/events/", json={**body, "metadata": {"bench": True, "seq": seq}}, headers=admin)
    done.wait(60)
    elapsed = max(received.values(), default=start) - start
    sio.disconnect()
    lat = [(received[s] - sent[s]) * 1000 for s in received]
    print(f"latency over {len(lat)}/{events} events at {rate}/s offered:")
    if lat:
        print(
            f"  p50 {percentile(lat, 50):.1f} ms  p95 {percentile(lat, 95):.1f} ms  "
            f"p99 {percentile(lat, 99):.1f} ms  mean {statistics.mean(lat):.1f} ms"
        )
        print(f"  sustained {len(lat) / elapsed:.1f} events/s delivered")


def fanout(client: httpx.Client, admin: dict[str, str], recipients: int) -> None:
    tag = uuid.uuid4().hex[:8]
    tokens = []
    for i in range(recipients):
        email = f"bench-{tag}-{i}@demo.test"
        client.post(
            "/api/users/",
            json={"email": email, "password": "bench-password", "full_name": f"Bench {i}", "role": "admin"},
            headers=admin,
        ).raise_for_status()
        tokens.append(login(client, email, "bench-password"))
    arrivals: list[float] = []
    lock = threading.Lock()
    all_in = threading.Event()

    def on_notification(data):  # type: ignore[no-untyped-def]
        if data["metadata"].get("bench_fanout") == tag:
            with lock:
                arrivals.append(time.perf_counter())
                if len(arrivals) == recipients:
                    all_in.set()

    clients = [connect(token, on_notification) for token in tokens]
    fired = time.perf_counter()
    client.post(
        "/api/events/",
        json={
            "event_type": "LOW_STOCK_ALERT",
            "entity_type": "inventory",
            "entity_id": 1,
            "metadata": {"bench_fanout": tag},
        },
        headers=admin,
    ).raise_for_status()
    all_in.wait(60)
    for sio in clients:
        sio.disconnect()
    if arrivals:
        print(
            f"fan-out to {recipients} connected admins: first {1000 * (min(arrivals) - fired):.1f} ms, "
            f"last {1000 * (max(arrivals) - fired):.1f} ms ({len(arrivals)}/{recipients} received)"
        )


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second offered")
    parser.add_argument("--fanout", type=int, default=100, help="recipients for the fan-out run")
    args = parser.parse_args()
    with httpx.Client(base_url=BASE, timeout=30) as client:
        admin = {"Authorization": f"Bearer {login(client, 'admin@demo.test')}"}
        latency(client, admin, args.events, args.rate)
        fanout(client, admin, args.fanout)


if __name__ == "__main__":
    main()
