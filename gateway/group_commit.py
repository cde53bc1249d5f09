"""Group commit: the writes of requests that arrive together share one transaction.

A request's work is queued; one writer at a time takes everything queued and
runs it in ONE thread hop, ONE transaction and ONE commit. A lone request goes
at once; under load, requests queue while a group is being written and the
next group grows by itself, so the fixed costs of a transaction -- the thread
hop, the connection check, checking the callers, the commit -- are paid once
per group, not once per request. Under a steady stream slower than one write
(150/s: a request every 6.7 ms, a write of about 3 ms) every group would be
one request: so when requests arrive faster than `linger` apart (a moving
average of the gaps between them), a group waits `linger` seconds
(GROUP_COMMIT_LINGER_SECONDS, 15 ms) for company. Slower than that, waiting
would bring nobody: a request goes at once.

    writer = GroupCommit(write)          # write(session, items) -> one outcome per item
    result = await writer.submit(item)   # the item's result, or its error raised

`write` returns, per item, its result or the DomainError it is refused with; a
refused item must have written nothing. When the group fails otherwise before
its commit (a database error), each item is written again alone, in its own
transaction, so that only the one at fault fails -- unless the database is
unavailable: then the whole group answers 503 at once (alone, each would only
wait for its own timeout in turn). A failed commit fails the whole group:
whether it took effect is unknown, and writing again could write twice. No
request is left waiting: the writer never raises, and a writer cancelled (the
server stopping) answers every queued request with 503. Nor does one wait for
ever: a request whose group has not been taken up within `deadline` seconds
(ADMISSION_WAIT_SECONDS; a write held up by a lock, say) leaves the queue and is
answered `503` with `Retry-After: 1`, having written nothing. One already being
written waits for its write, whose outcome it must report.
"""

import asyncio
import contextlib
import math
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from common.db import get_sessionmaker
from common.services.errors import DomainError
from gateway.errors import database_unavailable

Item = TypeVar("Item")
Result = TypeVar("Result")
Write = Callable[[Session, list[Item]], list[Result | DomainError]]


# How fast requests arrive: a moving average of the time between two, this much
# weight on the newest.
GAP_WEIGHT = 0.25


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        write: Write[Item, Result],
        max_group: int = 64,
        linger: float = 0.0,
        deadline: float = math.inf,
    ):
        self._write = write
        self._deadline = deadline
        self._max_group = max_group
        self._linger = linger
        self._last_submitted = -math.inf
        self._gap = math.inf  # the average time between two requests
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test client's): nothing of the old one is left
            self._loop, self._queued, self._writer = loop, [], None
        self._note_arrival(loop.time())
        future: asyncio.Future[Result] = loop.create_future()
        entry = (item, future)
        self._queued.append(entry)
        if self._writer is None:
            self._writer = loop.create_task(self._write_queued())
        if math.isinf(self._deadline):
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._deadline)
        except TimeoutError:
            if entry in self._queued:  # not taken up yet: it leaves, having written nothing
                self._queued.remove(entry)
                raise Busy() from None
            return await future  # being written: its outcome is what it answers

    def _note_arrival(self, now: float) -> None:
        gap, self._last_submitted = now - self._last_submitted, now
        self._gap = gap if math.isinf(self._gap) else (1 - GAP_WEIGHT) * self._gap + GAP_WEIGHT * gap

    def _worth_waiting(self) -> bool:
        """Requests come faster than the wait: waiting brings company."""
        return self._gap < self._linger

    async def _write_queued(self) -> None:
        group: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._queued:
                if self._worth_waiting():
                    await asyncio.sleep(self._linger)  # under a stream: let the group grow
                group = self._queued[: self._max_group]
                del self._queued[: self._max_group]
                outcomes = await run_in_threadpool(self._write_group, [item for item, _ in group])
                self._settle(group, outcomes)
                group = []
        except asyncio.CancelledError:  # the server is stopping: nobody is left waiting
            waiting, self._queued = group + self._queued, []
            self._settle(waiting, [Stopping() for _ in waiting])
            raise
        finally:
            self._writer = None

    def _write_group(self, items: list[Item]) -> list[Result | BaseException]:
        """One outcome per item; never raises."""
        outcomes = self._write_together(items)
        if outcomes is None:  # the group failed before its commit, and not for want of a database
            return [self._write_alone(item) for item in items]
        return outcomes

    def _write_alone(self, item: Item) -> Result | BaseException:
        outcomes = self._write_together([item])
        assert outcomes is not None  # a single item is never handed back to be written alone
        return outcomes[0]

    def _write_together(self, items: list[Item]) -> list[Result | BaseException] | None:
        """One transaction for every item. None when several items failed together before
        their commit, so that each may be written alone; never raises."""
        session = get_sessionmaker()()
        try:
            try:
                outcomes: list[Result | BaseException] = list(self._write(session, items))
            except Exception as exc:
                session.rollback()
                if len(items) > 1 and not database_unavailable(exc):
                    return None
                return [exc] * len(items)
            try:
                session.commit()
            except Exception as exc:
                session.rollback()
                return [o if isinstance(o, DomainError) else exc for o in outcomes]
            return outcomes
        except Exception as exc:  # a rollback failed too: the connection is gone, nothing was written
            return [exc] * len(items)
        finally:
            with contextlib.suppress(Exception):
                session.close()

    @staticmethod
    def _settle(
        group: list[tuple[Item, "asyncio.Future[Result]"]], outcomes: list[Result | BaseException]
    ) -> None:
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():  # its client went away; the write stands, as any request's does
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class Busy(DomainError):
    status_code = 503
    headers = {"Retry-After": "1"}

    def __init__(self) -> None:
        super().__init__("The server is busy; try again in a moment")


class Stopping(DomainError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("The server is stopping; try again shortly")
