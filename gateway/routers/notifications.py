import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import socketio
from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.events.publisher import user_room
from common.i18n.rows import ForReader, for_reader
from common.models import Notification
from common.schemas.base import CursorPage
from common.schemas.events import ActionRequest, NotificationOut, ReadAllRequest, ReadAllResult, UnreadCount
from common.services import actions, notifications
from common.services.inbox_query import ListFilters
from gateway.deps import CurrentUser, Limit, Offset, SessionDep
from gateway.idempotency import IdempotencyDep, run_once

router = APIRouter(prefix="/notifications", tags=["notifications"])

Category = Literal["orders", "stock", "system"]
Severity = Literal["critical", "high", "normal", "low"]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page (not with offset)")
]


def _unread_state(user_id: int) -> dict[str, int] | None:
    # A fresh session: the request's transaction has committed by now.
    with get_sessionmaker()() as session:
        state = notifications.unread_states(session, [user_id]).get(user_id)
        return state.payload() if state else None


async def _push_update(sio: socketio.AsyncServer, user_id: int, update: dict[str, Any]) -> None:
    """Tell every socket of the user what changed, then the count read after the commit.

    A background task: it runs after the response is sent, so after the
    request's commit (gateway/deps.py); the count is never one computed before.
    """
    room = user_room(user_id)
    await sio.emit("notification_updated", update, room=room)
    state = await asyncio.to_thread(_unread_state, user_id)
    if state is not None:
        await sio.emit("unread_count", state, room=room)


def _row_update(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "is_read": row.is_read, "archived": row.archived}


@router.get("/", response_model=CursorPage[NotificationOut])
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    is_read: bool | None = None,
    archived: bool = False,
    limit: Limit = 20,
    offset: Offset | None = None,
    cursor: Cursor = None,
    category: Category | None = None,
    severity: Severity | None = None,
    snoozed: Annotated[bool, Query(description="List your snoozed notifications instead")] = False,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Every word starts a word of title or message"),
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=20, description="One thread: with entity_id")] = None,
    entity_id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
):
    """Your notifications, newest first by position; `archived=true` lists the archive.

    Page with `offset`, or with `cursor` = the previous page's `next_cursor`
    (stable while new notifications arrive). Not both. A resurfaced snooze
    sorts at the top (CONTRACT section 8). `category` (a tab) and `severity`
    narrow the list. Each carries its `actions`, computed from the current
    state of what it is about.
    """
    filters = ListFilters(category=category, severity=severity, snoozed=snoozed, q=q)
    filters = replace(filters, entity_type=entity_type, entity_id=entity_id)  # one thread
    page = notifications.list_for_user(
        session,
        user.id,
        is_read=is_read,
        archived=archived,
        filters=filters,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )
    actions.attach_actions(session, page["items"])
    return {**page, "items": for_reader(session, user.id, page["items"])}  # issue 22: in your language


@router.get("/unread-count", response_model=UnreadCount)
def get_unread_count(session: SessionDep, user: CurrentUser):
    return notifications.unread_state(session, user.id).payload()


@router.patch("/read-all", response_model=ReadAllResult)
def read_all(
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
    up_to_id: Annotated[
        int | None, Query(ge=0, description="Read only rows up to this id (default: your newest now)")
    ] = None,
    body: ReadAllRequest | None = None,
):
    """Every unread, unarchived notification with id <= `up_to_id` becomes read; with
    `{"category": ...}` only that tab's."""
    category = body.category if body else None
    updated, limit = notifications.mark_all_read(session, user.id, up_to_id=up_to_id, category=category)
    if updated:
        change: dict[str, Any] = {"up_to_id": limit, "is_read": True}
        if category is not None:
            change["category"] = category
        background.add_task(_push_update, request.app.state.sio, user.id, change)
    return {"updated": updated, "up_to_id": limit}


# set_read or set_archived: (session, user id, notification id, value) -> (the row, whether it changed)
RowChange = Callable[[Session, int, int, bool], tuple[Notification, bool]]


@dataclass(frozen=True)
class _OneRow:
    """One of the caller's notifications, about to change; its sockets hear of it after the commit."""

    notification_id: int
    session: Session
    user_id: int
    sio: socketio.AsyncServer
    background: BackgroundTasks

    def set(self, change: RowChange, value: bool) -> Notification:
        row, changed = change(self.session, self.user_id, self.notification_id, value)
        if changed:
            self.background.add_task(_push_update, self.sio, self.user_id, _row_update(row))
        return row


async def _one_row(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
) -> _OneRow:  # no I/O: no trip through the threadpool
    return _OneRow(notification_id, session, user.id, request.app.state.sio, background)


OneRow = Annotated[_OneRow, Depends(_one_row)]


def _one_row_route(action: str, change: RowChange, value: bool, description: str | None = None) -> None:
    """PATCH /{notification_id}/{action}: `change(..., value)` on one of the caller's notifications."""

    def endpoint(row: OneRow) -> ForReader:
        changed = row.set(change, value)
        actions.attach_actions(row.session, [changed])
        return for_reader(row.session, row.user_id, [changed])[0]  # issue 22

    route = router.patch(
        f"/{{notification_id}}/{action}",
        response_model=NotificationOut,
        name=f"{action}_one",
        description=description,
    )
    route(endpoint)


_one_row_route("read", notifications.set_read, True)
_one_row_route("unread", notifications.set_read, False)
_one_row_route(
    "archive",
    notifications.set_archived,
    True,
    "Archived notifications leave the default list and the unread count (`archived=true` lists them).",
)
_one_row_route("unarchive", notifications.set_archived, False)


@router.post("/{notification_id}/actions/{action_id}", response_model=NotificationOut)
def act(
    notification_id: int,
    action_id: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    user: CurrentUser,
    idem: IdempotencyDep,
    background: BackgroundTasks,
    body: ActionRequest | None = None,
):
    """Run one of the notification's actions through the same services as the REST routes
    (same roles, transitions and events): `confirm`, `decline`, `dispatch`, `accept_eta`,
    `dispute_eta` (`{reason}`), `restock` (`{quantity}`), `rematch`, `cancel` (`{reason}`).

    `404` when the notification is not yours or the action is not on it, `403` when the
    service now refuses you, `409 {detail, state}` once it is done or unavailable.
    With an `Idempotency-Key`, a retry answers the first response again.
    """
    data = actions.ActionInput(quantity=body.quantity if body else None, reason=body.reason if body else None)

    def work() -> tuple[int, Any]:
        row = actions.perform(session, user, notification_id, action_id, data)
        entities = [(row.entity_type, row.entity_id)] if row.entity_type and row.entity_id else []
        if row.entity_type == "order" and row.entity_id:
            entities += actions.stock_entities_of_orders(session, [row.entity_id])
        background.add_task(asyncio.to_thread, actions.push_action_states, entities)
        shown = for_reader(session, user.id, [row])[0]  # issue 22: in your language
        return 200, NotificationOut.model_validate(shown).model_dump(mode="json")

    return run_once(session, user.id, idem, work)
