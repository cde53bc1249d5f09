from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from common.config import get_settings
from common.events.payloads import event_state_payload
from common.events.types import EntityType
from common.models import DeliveryState, User
from common.schemas.base import CursorPage, UTCDatetime
from common.schemas.events import EventAccepted, EventBatchAccepted, EventBatchCreate, EventCreate, EventOut
from common.services import events
from common.services.accounts import active_roles_since
from common.services.errors import DomainError
from gateway.deps import (
    AdminCaller,
    AdminUser,
    Caller,
    Limit,
    Offset,
    SessionDep,
    checked_role,
    in_transaction,
)
from gateway.group_commit import GroupCommit
from gateway.idempotency import IdempotencyDep, run_once

router = APIRouter(prefix="/events", tags=["events"])


@router.get("/", response_model=CursorPage[EventOut])
def list_events(
    session: SessionDep,
    _admin: AdminUser,
    # Any string: rows of a type a newer release added are listed too (CONTRACT section 8).
    event_type: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    entity_type: EntityType | None = None,
    entity_id: Annotated[int | None, Query(gt=0)] = None,
    state: Annotated[DeliveryState | None, Query(description="PENDING, QUEUED, PROCESSED or FAILED")] = None,
    date_from: Annotated[UTCDatetime | None, Query(description="ISO 8601; no zone means UTC")] = None,
    date_to: Annotated[UTCDatetime | None, Query(description="ISO 8601; no zone means UTC")] = None,
    limit: Limit = 20,
    offset: Offset | None = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
):
    """The event log, newest first; page with `offset` or with `cursor` (not both)."""
    return events.list_events(
        session,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        state=state,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )


@router.post("/", response_model=EventAccepted, status_code=status.HTTP_202_ACCEPTED)
async def fire_event(body: EventCreate, caller: AdminCaller, idem: IdempotencyDep):
    """Fire an event by hand: it runs exactly the path a domain event runs.

    The server adds the entity's ids (`order_id`, `supplier_id`, ...) to `metadata`.
    With an `Idempotency-Key`, a retry answers the first response again.
    """

    if idem is None:
        event_id = await _event_writer.submit((caller, _manual_event(body)))
        return JSONResponse({"event_id": event_id}, status_code=status.HTTP_202_ACCEPTED)

    def handle(session: Session, admin: User) -> JSONResponse:
        def work() -> tuple[int, dict[str, int]]:
            event_id = events.fire_event(session, admin, _manual_event(body))
            return status.HTTP_202_ACCEPTED, {"event_id": event_id}

        return run_once(session, admin.id, idem, work)

    return await in_transaction(caller, handle)


@router.post(
    "/batch",
    response_model=EventBatchAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={422: {"description": 'An invalid item, located at `["body", "events", i, ...]`'}},
)
async def fire_event_batch(body: EventBatchCreate, caller: AdminCaller, idem: IdempotencyDep):
    """Fire up to 500 events in one request and one transaction, for modules that emit in bulk.

    Each item is checked as `POST /api/events/` checks one (an unknown entity included);
    one invalid item refuses the whole batch and nothing is written. The ids come back
    in the order of the items. With an `Idempotency-Key`, a retry answers the first response again.
    """
    batch = [_manual_event(item) for item in body.events]

    def handle(session: Session, admin: User) -> JSONResponse:
        def work() -> tuple[int, dict[str, list[int]]]:
            return status.HTTP_202_ACCEPTED, {"event_ids": events.fire_batch(session, admin.id, batch)}

        return run_once(session, admin.id, idem, work)

    return await in_transaction(caller, handle)


def _manual_event(body: EventCreate) -> events.ManualEvent:
    return events.ManualEvent(body.event_type, body.entity_type, body.entity_id, body.metadata)


FireRequest = tuple[Caller, events.ManualEvent]


def _fire_group(session: Session, requests: list[FireRequest]) -> list[int | DomainError]:
    """The events of requests that arrived together: their callers checked in one query, one INSERT."""
    roles = active_roles_since(session, {caller.user_id for caller, _ in requests})
    outcomes: dict[int, int | DomainError] = {}
    admitted: list[int] = []
    for index, (caller, _) in enumerate(requests):
        try:
            checked_role(caller, *roles.get(caller.user_id, (None, None)))
            admitted.append(index)
        except DomainError as refusal:
            outcomes[index] = refusal
    fired = events.fire_events(session, [(requests[i][0].user_id, requests[i][1]) for i in admitted])
    outcomes.update(zip(admitted, fired, strict=True))
    return [outcomes[index] for index in range(len(requests))]


# POST /api/events/ without an Idempotency-Key: requests arriving together share
# one transaction (gateway/group_commit.py). With a key, each goes alone (run_once).
_event_writer: GroupCommit[FireRequest, int] = GroupCommit(
    _fire_group,
    linger=get_settings().group_commit_linger_seconds,
    deadline=get_settings().admission_wait_seconds,
)


@router.post("/{event_id}/replay", response_model=EventOut, status_code=status.HTTP_202_ACCEPTED)
def replay_event(
    event_id: Annotated[int, Path(gt=0)],
    session: SessionDep,
    _admin: AdminUser,
    request: Request,
    background: BackgroundTasks,
):
    """Handle an event again, in any state: missing notification rows are written (none twice),
    its socket messages are published again, side work and mails are not repeated.

    Answers with the event as it is now (`state: PENDING`); `attempts` grows when a worker handles it.
    Every admin's event log hears `event_state` with the new state once this has committed.
    """
    event = events.replay_event(session, event_id)
    payload = event_state_payload(event)
    # Background tasks run after the response, so after the request's commit.
    background.add_task(request.app.state.sio.emit, "event_state", payload, room="role_admin")
    return event
