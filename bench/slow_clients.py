"""Slow and large clients against a running gateway: what /api/health does meanwhile (issue 20).

Two attacks, neither needs an account:

- `slow-body`: N connections send the head of `POST /api/auth/login` with
  `Content-Length: 100` and one byte of body, then hold (the issue's case 1);
- `big-header`: one connection sends a request with a header of M MB (case 2).

Meanwhile `/api/health` is asked every `--interval` seconds (its latency is the
number reported; a probe that takes longer than `--timeout` counts as that
timeout) and one login with the demo buyer is tried. At the end, what became of
each slow connection: answered (status), closed without an answer, or still open.

    .venv/bin/python bench/slow_clients.py --url http://127.0.0.1:8000 slow-body --connections 100 --hold 20
    .venv/bin/python bench/slow_clients.py --url http://127.0.0.1:8000 big-header --megabytes 16

Prints one JSON object.
"""

import argparse
import asyncio
import json
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

LOGIN = {"email": "buyer@demo.test", "password": "demo1234"}


async def _slow_connection(host: str, port: int, hold: float) -> str:
    """One half-sent body; returns what the server did with it."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    head = (
        f"POST /api/auth/login HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    writer.write(head.encode())
    try:
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), hold)
    except TimeoutError:
        writer.close()
        return "still open"
    except OSError:
        return "closed"
    finally:
        writer.close()
    if not data:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode(errors="replace").split(" ", 2)[1]


async def _big_header(host: str, port: int, megabytes: float) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    writer.write(f"GET /api/health HTTP/1.1\r\nHost: {host}:{port}\r\nX-Big: ".encode())
    chunk = b"a" * 65536
    remaining = int(megabytes * 1024 * 1024)
    outcome = "sent whole"
    try:
        while remaining > 0:
            writer.write(chunk[: min(remaining, len(chunk))])
            remaining -= len(chunk)
            await writer.drain()
        writer.write(b"\r\n\r\n")
        await writer.drain()
    except OSError:
        outcome = "cut off while sending"
    try:
        data = await asyncio.wait_for(reader.read(65536), 30)
        status = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed without an answer"
    except (TimeoutError, OSError) as exc:
        status = f"no answer ({type(exc).__name__})"
    writer.close()
    return f"{status} ({outcome}, {time.monotonic() - started:.2f} s)"


async def _probe(url: str, seconds: float, interval: float, timeout: float) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=timeout) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                await client.get(f"{url}/api/health", headers={"Connection": "close"})
                latencies.append(time.monotonic() - started)
            except httpx.HTTPError:
                latencies.append(timeout)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    return latencies


async def _login(url: str, delay: float, timeout: float) -> dict[str, Any]:
    await asyncio.sleep(delay)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            response = await client.post(f"{url}/api/auth/login", json=LOGIN)
            return {"status": response.status_code, "seconds": round(time.monotonic() - started, 3)}
        except httpx.HTTPError as exc:
            return {
                "status": f"no answer ({type(exc).__name__})",
                "seconds": round(time.monotonic() - started, 3),
            }


def _summary(latencies: list[float], timeout: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "probes": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "timeouts": sum(1 for x in ordered if x >= timeout),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between health probes")
    parser.add_argument("--timeout", type=float, default=5.0, help="a probe slower than this counts as this")
    sub = parser.add_subparsers(dest="attack", required=True)
    slow = sub.add_parser("slow-body")
    slow.add_argument("--connections", type=int, default=100)
    slow.add_argument("--hold", type=float, default=20.0)
    big = sub.add_parser("big-header")
    big.add_argument("--megabytes", type=float, default=16.0)
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    baseline = _summary(await _probe(args.url, 2, args.interval, args.timeout), args.timeout)
    if args.attack == "slow-body":
        slow_tasks = [
            asyncio.create_task(_slow_connection(host, port, args.hold)) for _ in range(args.connections)
        ]
        await asyncio.sleep(0.5)  # every head is in
        probe = asyncio.create_task(_probe(args.url, args.hold - 1, args.interval, args.timeout))
        login = asyncio.create_task(_login(args.url, 2.0, args.timeout))
        outcomes = await asyncio.gather(*slow_tasks)
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        result = {
            "attack": f"{args.connections} half-sent bodies held {args.hold:g} s",
            "health_before": baseline,
            "health_under_attack": _summary(await probe, args.timeout),
            "login_meanwhile": await login,
            "slow_connections": counts,
        }
    else:
        started = time.monotonic()
        attack = asyncio.create_task(_big_header(host, port, args.megabytes))
        # Probes every 50 ms while the header is sent and parsed, and 3 s at least.
        latencies = await _probe(args.url, 3.0, 0.05, args.timeout)
        while not attack.done():
            latencies += await _probe(args.url, 0.5, 0.05, args.timeout)
        answer = await attack
        result = {
            "attack": f"one {args.megabytes:g} MB header",
            "health_before": baseline,
            "health_during_and_after": _summary(latencies, args.timeout),
            "big_header_answer": answer,
            "attack_seconds": round(time.monotonic() - started, 2),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
