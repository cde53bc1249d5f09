"""`make bench`'s last step: issue 26's targets, each beside its value at the issue's start and now.

Reads what bench/throughput.py --json and bench/socket_peer.py --json wrote in
the same sitting and prints one table. The "at the start" column is the
issue's own measurement (its text, 2026-12: this machine, `make run`,
aiohttp open loop); "now" is this run's.

    .venv/bin/python bench/report.py var/bench/throughput.json var/bench/socket_peer.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run(record: list[dict[str, Any]], mode: str, rate: float) -> dict[str, Any] | None:
    """The first variant's run of that mode and rate (the shipped stack, unless told otherwise)."""
    first = record[0]["variant"] if record else None
    for entry in record:
        if entry["variant"] == first and entry["mode"] == mode and entry["rate"] == rate:
            return entry
    return None


def delivery(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "not run"
    refused = f", {entry['errors']} refused (503)" if entry["errors"] else ""
    return (
        f"{entry['delivered_per_s']:.0f}/s delivered, {entry['lost']} lost{refused}, "
        f"p99 {entry['p99_ms']:.0f} ms"
    )


def latency(entry: dict[str, Any] | None, both: bool = True) -> str:
    if entry is None:
        return "not run"
    return f"{entry['p50_ms']:.0f} / {entry['p99_ms']:.0f} ms" if both else f"{entry['p99_ms']:.0f} ms"


def cpu(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "not run"
    return f"{entry['cpu_stack_ms']:.2f} ms ({entry['cpu_all_ms']:.2f} with PostgreSQL, Redis, load)"


def ratio(medians: dict[str, dict[str, float]], key: str) -> str:
    gateway = next((v for k, v in medians.items() if k != "node"), None)
    node = medians.get("node")
    if not gateway or not node:
        return "not run"
    return f"{gateway[key]:.1f} vs {node[key]:.1f} = {gateway[key] / node[key]:.2f}x"


def fan(fan_outs: list[dict[str, Any]], recipients: int) -> str:
    for entry in fan_outs:
        if entry["recipients"] == recipients:
            return (
                f"first {entry['first_ms']:.0f}, p50 {entry['p50_ms']:.0f}, last {entry['last_ms']:.0f} ms "
                f"({entry['received']}/{recipients})"
            )
    return "not run"


def table(record: list[dict[str, Any]], peer: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    medians, fan_outs = peer.get("medians", {}), peer.get("fan_out", [])
    return [
        ("e2e p50 / p99 at 150/s", "58–59 / 93–107 ms", latency(run(record, "http", 150)), "≤ 25 / 60 ms"),
        ("e2e p99 at 300/s", "259 ms", latency(run(record, "http", 300), both=False), "≤ 100 ms"),
        (
            "600/s offered for 10 s, HTTP",
            "562/s, nothing lost, p99 672 ms",
            delivery(run(record, "http", 600)),
            "≥ 590/s, nothing lost, p99 ≤ 250 ms",
        ),
        (
            "800/s offered for 10 s, HTTP",
            "saturates near 555/s",
            delivery(run(record, "http", 800)),
            "≥ 780/s, nothing lost, p99 ≤ 250 ms",
        ),
        ("1,500/s through the batch endpoint", "—", delivery(run(record, "batch", 1500)), "—"),
        (
            "the engine alone at 1,500/s for 10 s",
            "—",
            delivery(run(record, "engine", 1500)),
            "≥ 1,500/s, nothing lost, p99 ≤ 250 ms",
        ),
        (
            "CPU per event at 300/s, gateway + workers + beat + Flower",
            "2.7 ms (4.3 at 150/s)",
            cpu(run(record, "http", 300)),
            "≤ 1.2 ms",
        ),
        (
            "one alert to 1,000 connected admins, request → sockets",
            "last 440–472 ms",
            fan(fan_outs, 1000),
            "last ≤ 100 ms",
        ),
        ("one alert to 10,000 connected admins", "—", fan(fan_outs, 10000), "last ≤ 1 s"),
        (
            "socket path, C=1,000, 500 msgs/s: msgs per server CPU-s, gateway vs Node",
            "3,067 vs 6,116 = 0.50x",
            ratio(medians, "msgs_per_server_cpu_s"),
            "≥ 0.9x",
        ),
        (
            "CPU per connect (ms), gateway vs Node",
            "3.5 vs 0.56 (Node without JWT, query)",
            ratio(medians, "connect_cpu_ms"),
            "≤ 2x",
        ),
        (
            "memory per connected socket (KiB), gateway vs Node",
            "55 vs 22",
            ratio(medians, "kib_per_socket"),
            "≤ 1.5x",
        ),
    ]


def main() -> None:
    throughput_path, peer_path = (Path(a) for a in sys.argv[1:3])
    record = json.loads(throughput_path.read_text()) if throughput_path.exists() else []
    peer = json.loads(peer_path.read_text()) if peer_path.exists() else {}
    print("\nIssue 26's targets (this sitting; `not run`: that part was skipped)\n")
    print("| figure | at the issue's start | now | target |")
    print("|---|---|---|---|")
    for row in table(record, peer):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
