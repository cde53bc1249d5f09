"""What kind of news each event type is: its inbox category and its default severity (CONTRACT §8).

Plain strings, so a row of a type this release does not know still gets a kind.
Severity that follows business impact (a low-stock row that runs out before a
restock can arrive) is decided by the worker per event; these are the defaults.
"""

CATEGORIES = ("orders", "stock", "system")
SEVERITIES = ("critical", "high", "normal", "low")

_CATEGORY = {
    "LOW_STOCK_ALERT": "stock",
    "MATCHING_FAILED": "system",
    "ORDER_ESCALATED": "system",
}
_SEVERITY = {
    "MATCHING_FAILED": "critical",
    "ORDER_CANCELLED": "critical",
    "ORDER_ESCALATED": "critical",
    "DELIVERY_COMPLETED": "low",
    "ETA_DISPUTED": "high",
}


def category_of(event_type: str) -> str:
    return _CATEGORY.get(event_type, "orders")


def default_severity(event_type: str) -> str:
    return _SEVERITY.get(event_type, "normal")
