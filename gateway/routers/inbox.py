"""The inbox, round two (issue 24, CONTRACT section 8): snooze, seen, order threads.

Every change is pushed after the commit as `notification_updated`, then the
versioned `unread_count` (gateway/routers/notifications.py: _push_update).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request

from common.i18n.rows import for_reader
from common.schemas.events import NotificationOut, SeenBody, SnoozeBody, ThreadPage, UpdatedResult
from common.services import actions, inbox
from common.services.errors import Invalid
from gateway.deps import CurrentUser, Limit, SessionDep
from gateway.routers.notifications import Cursor, _push_update

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, lt=2**63)]
Category = Literal["orders", "stock", "system"]


@router.get("/threads", response_model=ThreadPage)
def list_threads(
    session: SessionDep,
    user: CurrentUser,
    limit: Limit = 20,
    cursor: Cursor = None,
    category: Category | None = None,
    offset: Annotated[int | None, Query(description="Not supported: threads page by cursor (422)")] = None,
):
    """One entry per order or stock row you have notifications about, newest activity first.

    `count` and `unread_count` leave out archived and snoozed rows; `severity`
    is the most severe unread one; `status` is the order's now (null for stock).
    """
    if offset is not None:
        raise Invalid("threads page by cursor only; offset is not supported")
    page = inbox.threads(session, user.id, limit=limit, cursor=cursor, category=category)
    latest = for_reader(session, user.id, [item["latest"] for item in page.items])  # issue 22
    items = [{**item, "latest": row} for item, row in zip(page.items, latest, strict=True)]
    return {"items": items, "next_cursor": page.next_cursor, "limit": page.limit}


@router.patch("/threads/{entity_type}/{entity_id}/read", response_model=UpdatedResult)
def read_thread(
    entity_type: Annotated[str, Path(max_length=20, pattern="^[a-z_]+$")],
    entity_id: Annotated[int, Path(ge=1, lt=2**31)],
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    """Every unread notification of the thread becomes read, in one transaction (404: none there)."""
    updated, up_to_id = inbox.read_thread(session, user.id, entity_type, entity_id)
    if updated:
        change = {"entity_type": entity_type, "entity_id": entity_id, "up_to_id": up_to_id, "is_read": True}
        background.add_task(_push_update, request.app.state.sio, user.id, change)
    return {"updated": updated}


@router.patch("/seen", response_model=UpdatedResult)
def mark_seen(
    body: SeenBody, session: SessionDep, user: CurrentUser, request: Request, background: BackgroundTasks
):
    """Your notifications among `ids` (1 to 500; others' are ignored) have been shown to you."""
    ids = inbox.mark_seen(session, user.id, body.ids)
    if ids:
        background.add_task(_push_update, request.app.state.sio, user.id, {"ids": ids, "seen": True})
    return {"updated": len(ids)}


@router.patch("/{notification_id}/snooze", response_model=NotificationOut)
def snooze(
    notification_id: NotificationId,
    body: SnoozeBody,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    """Hide it until `until` (SNOOZE_MIN_SECONDS to 90 days ahead): out of the list and the counts.

    At `until` it is back, unread, at the top of the list. An archived one is `409`.
    """
    row, changed = inbox.snooze(session, user.id, notification_id, body.until)
    if changed:
        update = {"id": row.id, "snoozed_until": row.snoozed_until.isoformat() if row.snoozed_until else None}
        background.add_task(_push_update, request.app.state.sio, user.id, update)
    actions.attach_actions(session, [row])
    return for_reader(session, user.id, [row])[0]


@router.patch("/{notification_id}/unsnooze", response_model=NotificationOut)
def unsnooze(
    notification_id: NotificationId,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    """End the snooze now: the notification is back in the list at its place."""
    row, changed = inbox.unsnooze(session, user.id, notification_id)
    if changed:
        background.add_task(
            _push_update, request.app.state.sio, user.id, {"id": row.id, "snoozed_until": None}
        )
    actions.attach_actions(session, [row])
    return for_reader(session, user.id, [row])[0]
