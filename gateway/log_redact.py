"""No token in uvicorn's log lines: `token=` in a logged query string is redacted.

uvicorn writes the path with its query string into the access log
(`uvicorn.access`) and, for WebSocket handshakes, into `uvicorn.error`
(`"WebSocket /ws/?EIO=4&transport=websocket&token=..." [accepted]`). A
client that puts its token in the query string (old Socket.IO clients do)
would leave it in the log, readable by whoever reads logs. A filter on both
loggers rewrites the value to `[redacted]` before any handler formats it.
"""

import logging
import re

TOKEN_IN_QUERY = re.compile(r"(?i)((?:^|[?&;])(?:access_)?token=)[^&;\s\"]*")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


class TokenRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "token=" in record.msg.lower():
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install_token_redaction() -> None:
    """Idempotent: one filter per logger, whoever calls it first."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedaction) for f in logger.filters):
            logger.addFilter(TokenRedaction())
