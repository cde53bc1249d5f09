"""The one clock of snoozes, escalations and retention (issue 24).

`now()` is the UTC time plus a test-only offset, so a test can move a running
gateway, worker and beat into the future instead of waiting minutes:

- PARTPULSE_CLOCK_OFFSET_SECONDS: an offset in seconds, read at every call;
- PARTPULSE_CLOCK_OFFSET_FILE: a file holding the offset in seconds (a float),
  re-read when its modification time changes (one stat per call), so a test can
  shift processes that are already running. While the file is named and
  readable it wins over the variable; a missing or unreadable one is ignored.

Neither is set in production; then `now()` is `datetime.now(UTC)`.
"""

import os
from datetime import UTC, datetime, timedelta

_OFFSET_ENV = "PARTPULSE_CLOCK_OFFSET_SECONDS"
_OFFSET_FILE_ENV = "PARTPULSE_CLOCK_OFFSET_FILE"

_cache: dict[str, tuple[float, float | None]] = {}  # path -> (mtime, offset)


def _file_offset(path: str) -> float | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        with open(path, encoding="ascii") as handle:
            offset: float | None = float(handle.read().strip() or 0)
    except (OSError, ValueError):
        offset = None
    _cache[path] = (mtime, offset)
    return offset


def offset_seconds() -> float:
    path = os.environ.get(_OFFSET_FILE_ENV)
    from_file = _file_offset(path) if path else None
    return from_file if from_file is not None else float(os.environ.get(_OFFSET_ENV) or 0)


def now() -> datetime:
    """UTC now, shifted by the test-only offset when one is set."""
    moment = datetime.now(UTC)
    offset = offset_seconds()
    return moment + timedelta(seconds=offset) if offset else moment
