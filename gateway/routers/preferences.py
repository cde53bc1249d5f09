from typing import Any

from fastapi import APIRouter

from common import clock
from common.schemas.preferences import EmailWindow, Preferences, PreferencesUpdate
from common.services import preferences, quiet_hours
from common.services.errors import Invalid
from gateway.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/preferences", tags=["preferences"])


def _whole(session: SessionDep, user: CurrentUser, event_types: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_types": event_types,
        **preferences.get_language(session, user),
        **quiet_hours.schedule_preferences(user),
        "group_by_order": user.group_by_order,
    }


@router.get("/", response_model=Preferences)
def get_preferences(session: SessionDep, user: CurrentUser):
    """Per event type you can be told of: `in_app` (a row, a push, a count) and `email`.

    Also your `locale` (null until chosen), the `timezone` your times are shown in,
    your weekly `email_schedule` (null = always), `follow_organisation_calendar`, and
    `group_by_order` (the inbox grouped by order).
    """
    return _whole(session, user, preferences.get_preferences(session, user))


@router.put("/", response_model=Preferences)
def put_preferences(body: PreferencesUpdate, session: SessionDep, user: CurrentUser):
    """Change any part of the preferences; answers the whole.

    MATCHING_FAILED, ORDER_CANCELLED and ORDER_ESCALATED cannot be muted in the
    app; a type you are never told of is refused (`422`). `locale` is `en` or
    `de`, `timezone` an IANA zone (`Europe/Berlin`); anything else is `422`;
    `null` resets either to its default. `email_schedule`: absent leaves it,
    `null` resets it to always, `{}` is `422`.
    """
    given = body.model_fields_set
    if "follow_organisation_calendar" in given and body.follow_organisation_calendar is None:
        raise Invalid("follow_organisation_calendar must be true or false")
    schedule: dict[str, Any] = {
        k: getattr(body, k) for k in ("email_schedule", "follow_organisation_calendar") if k in given
    }
    changes = {t: c.model_dump(exclude_none=True) for t, c in body.event_types.items()}
    language = body.model_dump(include={"locale", "timezone"} & given)
    preferences.check_language(language)
    quiet_hours.update_schedule_preferences(user, schedule)  # checked before any write
    event_types = preferences.update_preferences(session, user, changes)
    if body.group_by_order is not None:  # issue 24: the inbox grouped by order
        user.group_by_order = body.group_by_order
    preferences.update_language(session, user, language)
    session.flush()
    return _whole(session, user, event_types)


@router.get("/email-window", response_model=EmailWindow)
def get_email_window(session: SessionDep, user: CurrentUser):
    """Your effective e-mail window now: open or not, its next opening, and `fallback` (true when
    your organisation's calendar and your schedule share no opening in the next 14 days, so your
    own schedule alone applies)."""
    return quiet_hours.window_summary(session, user, clock.now())
