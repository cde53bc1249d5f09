"""The engine alone: a process of its own calls emit_event at a fixed rate (bench/throughput.py --engine).

Open loop: event `seq` is due at `--start + seq / --rate` (wall clock, so the
bench can time it from there to the socket). Each pass writes every event due
by then in one transaction of this process, passes at most every `--tick`
seconds (10 ms: a busy module commits what it has, as the gateway's group
commit does, rather than one transaction per event); its relay (a thread of
this process, woken by the commit) hands them to the broker, and the stack's
workers and gateway do the rest.

    python bench/producer.py --rate 1500 --seconds 10 --start <unix time> --order <id> --tag <run tag>
"""

from __future__ import annotations

import argparse
import time

from common.db import get_sessionmaker
from common.events.bus import emit_event
from common.events.relay import start as start_relay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--start", type=float, required=True, help="unix time event 0 is due")
    parser.add_argument("--order", type=int, required=True, help="the order the events are about")
    parser.add_argument("--tag", required=True, help="metadata bench_run of every event")
    parser.add_argument("--tick", type=float, default=0.01, help="the shortest time between two passes")
    args = parser.parse_args()
    sessions = get_sessionmaker()
    start_relay()
    total, sent = int(args.rate * args.seconds), 0
    while sent < total:
        due = min(total, int((time.time() - args.start) * args.rate) + 1)
        if due <= sent:
            time.sleep(max(0.0, args.start + sent / args.rate - time.time()))
            continue
        next_pass = time.time() + args.tick
        with sessions() as session:
            for seq in range(sent, due):
                emit_event(
                    session,
                    "ORDER_DISPATCHED",
                    "order",
                    args.order,
                    metadata={"bench_run": args.tag, "seq": seq},
                )
            session.commit()
        sent = due
        time.sleep(max(0.0, next_pass - time.time()))
    time.sleep(5)  # the relay hands over the last events; the bench stops this process


if __name__ == "__main__":
    main()
