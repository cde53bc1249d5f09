from fastapi import APIRouter

from common.schemas.preferences import Preferences, PreferencesUpdate
from common.services import preferences
from gateway.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/preferences", tags=["preferences"])


@router.get("/", response_model=Preferences)
def get_preferences(session: SessionDep, user: CurrentUser):
    """Per event type you can be told of: `in_app` (a row, a push, a count) and `email`."""
    return {"event_types": preferences.get_preferences(session, user)}


@router.put("/", response_model=Preferences)
def put_preferences(body: PreferencesUpdate, session: SessionDep, user: CurrentUser):
    """Change any part of the preferences; answers the whole.

    MATCHING_FAILED, ORDER_CANCELLED and ORDER_ESCALATED cannot be muted in the
    app; a type you are never told of is refused (`422`).
    """
    changes = {t: c.model_dump(exclude_none=True) for t, c in body.event_types.items()}
    return {"event_types": preferences.update_preferences(session, user, changes)}
