import asyncio
from typing import Annotated, Any

import socketio
from fastapi import APIRouter, BackgroundTasks, Query, Request

from common.db import get_sessionmaker
from common.events.publisher import user_room
from common.models import Notification
from common.schemas.base import CursorPage
from common.schemas.events import NotificationOut, ReadAllResult, UnreadCount
from common.services import notifications
from gateway.deps import CurrentUser, Limit, Offset, SessionDep

router = APIRouter(prefix="/notifications", tags=["notifications"])

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
):
    """Your notifications, newest first by id; `archived=true` lists the archive.

    Page with `offset`, or with `cursor` = the previous page's `next_cursor`
    (stable while new notifications arrive). Not both.
    """
    return notifications.list_for_user(
        session, user.id, is_read=is_read, archived=archived, limit=limit, offset=offset, cursor=cursor
    )


@router.get("/unread-count", response_model=UnreadCount)
def get_unread_count(session: SessionDep, user: CurrentUser):
    return {"count": notifications.unread_count(session, user.id)}


@router.patch("/read-all", response_model=ReadAllResult)
def read_all(
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
    up_to_id: Annotated[
        int | None, Query(ge=0, description="Read only rows up to this id (default: your newest now)")
    ] = None,
):
    """Every unread, unarchived notification with id <= `up_to_id` becomes read."""
    updated, limit = notifications.mark_all_read(session, user.id, up_to_id=up_to_id)
    if updated:
        background.add_task(
            _push_update, request.app.state.sio, user.id, {"up_to_id": limit, "is_read": True}
        )
    return {"updated": updated, "up_to_id": limit}


def _change(
    request: Request,
    background: BackgroundTasks,
    user_id: int,
    result: tuple[Notification, bool],
) -> Notification:
    row, changed = result
    if changed:
        background.add_task(_push_update, request.app.state.sio, user_id, _row_update(row))
    return row


@router.patch("/{notification_id}/read", response_model=NotificationOut)
def read_one(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    return _change(
        request, background, user.id, notifications.set_read(session, user.id, notification_id, True)
    )


@router.patch("/{notification_id}/unread", response_model=NotificationOut)
def unread_one(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    return _change(
        request, background, user.id, notifications.set_read(session, user.id, notification_id, False)
    )


@router.patch("/{notification_id}/archive", response_model=NotificationOut)
def archive_one(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    """Archived notifications leave the default list and the unread count (`archived=true` lists them)."""
    return _change(
        request, background, user.id, notifications.set_archived(session, user.id, notification_id, True)
    )


@router.patch("/{notification_id}/unarchive", response_model=NotificationOut)
def unarchive_one(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    return _change(
        request, background, user.id, notifications.set_archived(session, user.id, notification_id, False)
    )
