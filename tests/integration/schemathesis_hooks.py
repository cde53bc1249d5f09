"""schemathesis hooks (SCHEMATHESIS_HOOKS) for test_schemathesis.py: calendar-edge times (issue 20).

Every `date-time` field and parameter draws from the calendar's edges as well as
ordinary times: values valid in ISO 8601 whose UTC value falls outside years
1-9999 (a 422 naming the field) and the last and first representable moments
(a correct answer). A manual event's metadata gets the keys the server reads as
times (`eta`, `delivered_at`, `needed_by`) with such values in turn.
"""

from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from typing import Any

import schemathesis
from hypothesis import strategies as st

EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T13:59:59+14:00",
    "9999-12-31T10:00:00-14:00",
]
ZONES = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-14)),
    timezone(timedelta(hours=5, minutes=30)),
]

schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.sampled_from(EDGE_TIMES),
        st.datetimes(
            min_value=datetime(1, 1, 1),
            max_value=datetime(9999, 12, 31, 23, 59, 59),
            timezones=st.sampled_from(ZONES),
        ).map(lambda moment: moment.isoformat()),
    ),
)

_turn = count()
TIME_KEYS = ("eta", "delivered_at", "needed_by")


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    operation = getattr(ctx, "operation", None)
    if operation is None or operation.method.upper() != "POST" or operation.path != "/api/events/":
        return body
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        turn = next(_turn)
        body["metadata"][TIME_KEYS[turn % len(TIME_KEYS)]] = EDGE_TIMES[turn % len(EDGE_TIMES)]
    return body
