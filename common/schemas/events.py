from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator

from common.events.types import EntityType, EventType
from common.schemas.base import InputModel, OutputModel, UTCDatetime
from common.services.metadata import check_manual_metadata


class EventCreate(InputModel):
    event_type: EventType
    entity_type: EntityType
    entity_id: int = Field(gt=0)
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "At most 16 KB. Optional typed keys: `eta`, `delivered_at`, `needed_by` (ISO 8601 times), "
            "`reason`, `carrier`, `tracking_ref` (strings of at most 500 characters); other keys are kept."
        ),
    )

    @field_validator("metadata")
    @classmethod
    def _known_keys_typed(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_manual_metadata(value)


class EventAccepted(OutputModel):
    event_id: int


MAX_BATCH_EVENTS = 500


class EventBatchCreate(InputModel):
    events: list[EventCreate] = Field(
        min_length=1,
        max_length=MAX_BATCH_EVENTS,
        description=f"1 to {MAX_BATCH_EVENTS} events; one invalid item refuses the whole batch",
        examples=[
            [
                {
                    "event_type": "ETA_UPDATED",
                    "entity_type": "order",
                    "entity_id": 1,
                    "metadata": {"eta": "2026-12-04T14:30:00Z"},
                },
                {"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1},
            ]
        ],
    )


class EventBatchAccepted(OutputModel):
    event_ids: list[int] = Field(description="The events' ids, in the order they were sent")


class EventOut(OutputModel):
    id: int
    event_type: str
    entity_type: str
    entity_id: int
    actor_id: int | None
    metadata: dict[str, Any] = Field(validation_alias="event_metadata")
    created_at: datetime
    state: str
    attempts: int
    error: str | None = None
    processed_at: datetime | None = None
    # Quiet hours (issue 25): the latest time one of the event's mails was held until (null: none held).
    mail_held_until: datetime | None = None


class ActionOut(OutputModel):
    """An action on a notification (CONTRACT section 8): computed from the entity's current state."""

    id: str
    label: str
    kind: Literal["primary", "secondary"]
    state: Literal["open", "done", "unavailable"]
    done_by: str | None
    done_at: datetime | None


class ActionRequest(InputModel):
    """`{}`, `{quantity}` (restock: 1 to 1,000,000 units) or `{reason}` (decline, dispute_eta, cancel)."""

    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    reason: str | None = Field(default=None, min_length=1, max_length=500)


class NotificationOut(OutputModel):
    id: int
    event_type: str
    title: str
    message: str
    metadata: dict[str, Any] = Field(validation_alias="notification_metadata")
    link: str | None
    is_read: bool
    archived: bool
    created_at: datetime
    read_at: datetime | None
    category: str
    severity: str
    seen: bool
    snoozed_until: datetime | None = None
    resurfaced_at: datetime | None = None
    # Where it sorts (= id until it resurfaces), so a client merges pushes and pages in order.
    position: int = Field(validation_alias=AliasChoices("sort_position", "position"))
    entity_type: str | None = None
    entity_id: int | None = None
    actions: list[ActionOut] = Field(default_factory=list)


class ByCategory(OutputModel):
    orders: int
    stock: int
    system: int


class BySeverity(OutputModel):
    critical: int
    high: int
    normal: int
    low: int


class UnreadCount(OutputModel):
    """The caller's unread state; the `unread_count` push carries the same (CONTRACT section 8)."""

    count: int
    version: int
    unseen: int
    by_category: ByCategory
    by_severity: BySeverity


class ReadAllRequest(InputModel):
    """`PATCH /api/notifications/read-all` may name a tab: only its rows are read."""

    category: Literal["orders", "stock", "system"] | None = None


class ReadAllResult(OutputModel):
    updated: int
    up_to_id: int


# --- issue 24: snooze, seen, threads (CONTRACT section 8) ---


class SnoozeBody(InputModel):
    until: UTCDatetime = Field(description="SNOOZE_MIN_SECONDS to 90 days ahead; no zone means UTC")


class SeenBody(InputModel):
    ids: list[Annotated[int, Field(ge=1, lt=2**63)]] = Field(min_length=1, max_length=500)


class UpdatedResult(OutputModel):
    updated: int


class Thread(OutputModel):
    entity_type: str
    entity_id: int
    title: str
    status: str | None
    count: int
    unread_count: int
    severity: str | None
    latest: NotificationOut


class ThreadPage(OutputModel):
    items: list[Thread]
    next_cursor: str | None
    limit: int
