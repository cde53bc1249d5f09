"""Word-prefix search of notifications (issue 24, CONTRACT section 8: `?q=`).

Every term of the query must match the start of a word of the title or the
message, case-insensitive. A term is a run of letters and digits (so `#42`
is `42`, `ETA-update` is `eta` and `update`), the words PostgreSQL's `simple`
parser makes of them too. PostgreSQL matches through its GIN index with a
tsquery built here from the terms, each quoted, never the user's text as
tsquery syntax; SQLite calls `words_match` (registered on every connection).
"""

import re

_WORD = re.compile(r"[^\W_]+")


def terms(query: str) -> list[str]:
    """The query's terms, lowercased, each once, in order."""
    return list(dict.fromkeys(t.lower() for t in _WORD.findall(query)))


def tsquery(words: list[str]) -> str:
    """`'a':* & 'b':*` for to_tsquery('simple', ...); quotes and backslashes escaped."""
    return " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)


def words_match(document: str | None, query: str | None) -> int:
    """1 when every term of `query` starts a word of `document` (the SQLite side)."""
    wanted = terms(query or "")
    words = {w.lower() for w in _WORD.findall(document or "")}
    return int(all(any(w.startswith(t) for w in words) for t in wanted))
