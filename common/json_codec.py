"""The JSON module of the socket path: orjson, with the standard library behind it.

python-socketio and the room channels encode every socket packet and decode
every channel message with the module they are given (`json=`); orjson does
both several times faster than the standard library. Anything orjson refuses
(an integer past 64 bits, a type it does not know) goes to the standard
library, which encodes it or raises as it always did, so a payload that
encoded before still encodes the same way.
"""

import json as _stdlib
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text (python-socketio passes `separators=(',', ':')`, orjson's only form)."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except TypeError:
        return _stdlib.dumps(obj, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _stdlib.loads(text, **kwargs)  # raises the standard library's error, as before
