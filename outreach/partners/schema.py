"""The partner file format: a VCSE organisation, the Slack channels Outreach posts to, what it
follows and what it may see. Documented for coordinators in docs/partners.md.

A partner file lives among the flows (``flows/partners/``) and says so on its first line of
substance (``partner: <id>``).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from outreach.flows.schema import Identifier

# A Slack channel id (C..., G...): names change, ids do not.
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{6,20}$")


def _channel_id(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(
            f"{value!r} is not a Slack channel id: copy the id (C...) from the bottom of the "
            "channel's details in Slack, not its name"
        )
    return value


ChannelId = Annotated[str, AfterValidator(_channel_id)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# What a partner may see beyond counts: people's own words (from those who agreed to be
# quoted), and reach by declared group.
Sight = Literal["quotes", "reach"]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


IdList = Annotated[list[Identifier], BeforeValidator(_as_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Follows(_Model):
    """What the partner follows: conversations about these events, with people with these
    tags, or in these flows."""

    events: IdList = []
    tags: IdList = []
    flows: IdList = []


class DigestSchedule(_Model):
    """When the digest is posted: weekly on a day, or daily; at a local time."""

    every: Annotated[Literal["day"] | Weekday, BeforeValidator(_lower)] = "monday"
    at: time = time(9, 0)
    timezone: str = "Europe/London"
    language: str = Field("en", pattern=r"^[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone: write one like Europe/London"
            ) from None
        return value

    @property
    def cron(self) -> dict[str, str]:
        """The schedule as APScheduler cron fields."""
        fields = {"hour": str(self.at.hour), "minute": str(self.at.minute)}
        if self.every != "day":
            fields["day_of_week"] = self.every[:3]
        return fields


class PartnerSpec(_Model):
    """One partner file."""

    version: Literal[1] = 1
    partner: Identifier
    name: str = Field(max_length=200)
    digest_channel: ChannelId | None = None
    handoff_channel: ChannelId | None = None
    follows: Follows = Follows()
    digest: DigestSchedule = DigestSchedule()
    sees: Annotated[list[Sight], BeforeValidator(_as_list)] = []
