"""CPU a worker process spends handling one batch of events, in this process.

    .venv/bin/python bench/worker_batch.py [--batch 7] [--batches 300]
    PYTHONPATH=var/bench/trees/REV .venv/bin/python bench/worker_batch.py   # another revision's code

It migrates and seeds a fresh database (BENCH_DB_BATCH, default
partpulse_batch), then, per batch: writes `--batch` ORDER_DISPATCHED events
(told to the demo buyer) and times `workers.pipeline.handle_events` on them
with time.process_time, so waiting for PostgreSQL and Redis is not counted and
neither is writing the events. The socket messages go to Redis db 9's channel
(nobody listens). It shows where a worker's CPU goes without the Celery
machinery around it; on this shared machine one run differs from the next by
about a tenth, so alternate the revisions compared, several times.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_BATCH", "partpulse_batch")
os.environ["DATABASE_URL"] = f"{PG_BASE}/{DB_NAME}"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("JWT_SECRET", "bench-secret-0123456789-0123456789-0123456789")
os.environ.setdefault("EVENT_RELAY", "false")  # the events are handed to the handler directly
TREE = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or ROOT)
sys.path.insert(0, str(TREE))

from fixtures import demo_order, fresh_database  # noqa: E402  (bench/ is on sys.path: run as a script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch", type=int, default=7, help="events per batch (about 150/s with a 40 ms linger)"
    )
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    fresh_database(PG_BASE, DB_NAME, TREE)

    from common.db import get_sessionmaker
    from common.events.bus import NewEvent, emit_many
    from common.events.types import EventType
    from workers.pipeline import handle_events

    sessions = get_sessionmaker()
    admin_id, order_id = demo_order(sessions, status="DISPATCHED")

    def write_batch(seq: int) -> list[int]:
        events = [
            NewEvent(EventType.ORDER_DISPATCHED, "order", order_id, admin_id, {"seq": seq, "i": i})
            for i in range(args.batch)
        ]
        with sessions() as session:
            ids = emit_many(session, events)
            session.commit()
        return ids

    for seq in range(30):  # warm: statement caches, pool, connections
        handle_events(write_batch(seq))
    cpu_ms: list[float] = []
    for seq in range(args.batches):
        ids = write_batch(seq)
        started = time.process_time()
        summaries = handle_events(ids)
        cpu_ms.append(1000 * (time.process_time() - started))
        assert len(summaries) == args.batch, summaries
    mean, median = statistics.fmean(cpu_ms), statistics.median(cpu_ms)
    print(
        f"batch of {args.batch}: CPU per batch mean {mean:.2f} ms, median {median:.2f} ms; "
        f"per event {mean / args.batch:.3f} ms ({args.batches} batches)"
    )


if __name__ == "__main__":
    main()
