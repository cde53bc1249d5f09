from fastapi import APIRouter, BackgroundTasks, Request

from common.events.publisher import user_room
from common.schemas.base import Page
from common.schemas.events import NotificationOut, ReadAllResult, UnreadCount
from common.services import notifications
from gateway.deps import CurrentUser, Limit, Offset, SessionDep

router = APIRouter(prefix="/notifications", tags=["notifications"])


async def _push_unread_count(request: Request, user_id: int, count: int) -> None:
    # A background task: it runs after the response, so after the request's commit.
    await request.app.state.sio.emit("unread_count", {"count": count}, room=user_room(user_id))


@router.get("/", response_model=Page[NotificationOut])
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    is_read: bool | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    return notifications.list_for_user(session, user.id, is_read=is_read, limit=limit, offset=offset)


@router.get("/unread-count", response_model=UnreadCount)
def get_unread_count(session: SessionDep, user: CurrentUser):
    return {"count": notifications.unread_count(session, user.id)}


@router.patch("/read-all", response_model=ReadAllResult)
def read_all(session: SessionDep, user: CurrentUser, request: Request, background: BackgroundTasks):
    updated = notifications.mark_all_read(session, user.id)
    count = notifications.unread_count(session, user.id)
    background.add_task(_push_unread_count, request, user.id, count)
    return {"updated": updated}


@router.patch("/{notification_id}/read", response_model=NotificationOut)
def read_one(
    notification_id: int,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    background: BackgroundTasks,
):
    notification = notifications.mark_read(session, user.id, notification_id)
    count = notifications.unread_count(session, user.id)
    background.add_task(_push_unread_count, request, user.id, count)
    return notification
