"""Organisations' shift calendars (issue 25): `/api/factories/{id}/calendar` and
`/api/suppliers/{id}/calendar`, read by admins and the organisation's users, written by
admins and its managers (`is_manager`)."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path

from common.schemas.preferences import CalendarIn, CalendarOut
from common.services import quiet_hours
from gateway.deps import CurrentUser, SessionDep

router = APIRouter(tags=["reference data"])

OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _routes(kind: quiet_hours.Kind, plural: str) -> None:
    path = f"/{plural}/{{org_id}}/calendar"

    def get_calendar(org_id: OrgId, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
        return quiet_hours.get_calendar(session, user, kind, org_id)

    def put_calendar(
        org_id: OrgId, body: CalendarIn, session: SessionDep, user: CurrentUser
    ) -> dict[str, Any]:
        return quiet_hours.put_calendar(session, user, kind, org_id, body.model_dump(mode="python"))

    described: dict[str, tuple[Callable[..., Any], str]] = {
        "get": (get_calendar, "admins and its users; `404` for another organisation's user"),
        "put": (put_calendar, "replaced by admins and its managers; `403` for its other users"),
    }
    for method, (endpoint, who) in described.items():
        router.add_api_route(
            path,
            endpoint,
            methods=[method.upper()],
            response_model=CalendarOut,
            name=f"{method}_{kind}_calendar",
            description=f"The {kind}'s calendar: {who}.",
        )


_routes("factory", "factories")
_routes("supplier", "suppliers")
