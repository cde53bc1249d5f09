from pydantic import StrictBool

from common.schemas.base import InputModel, OutputModel


class ChannelPreference(OutputModel):
    in_app: bool
    email: bool


class Preferences(OutputModel):
    event_types: dict[str, ChannelPreference]


class ChannelUpdate(InputModel):
    in_app: StrictBool | None = None
    email: StrictBool | None = None


class PreferencesUpdate(InputModel):
    """Any part of the GET shape: some types, and for each some of its switches."""

    event_types: dict[str, ChannelUpdate] = {}
