from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from common.events.types import EntityType, EventType
from common.schemas.base import InputModel, OutputModel
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


class UnreadCount(OutputModel):
    count: int


class ReadAllResult(OutputModel):
    updated: int
    up_to_id: int
