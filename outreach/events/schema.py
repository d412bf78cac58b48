"""The event file format: a Big Conversation, who is invited, and what is sent when.

An event file lives among the flows and says so on its first line of substance (``event:
<id>``). Times are written as on a poster, in the event's own time zone; reminders and the
follow-up are offsets from the start (``-7d``, ``-2h``, ``+1d``). Documented for coordinators
in docs/events.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from outreach.durations import format_duration
from outreach.flows.schema import ChannelName, Duration, Identifier, QuietWindow

# What a person's RSVP can be. "offered" holds a freed place for someone from the waitlist.
RsvpStatus = Literal["invited", "yes", "maybe", "no", "waitlist", "offered"]
# Who may receive a reminder or follow-up; "no" and opted-out people never do.
Recipient = Literal["invited", "yes", "maybe", "offered"]
# How long a follow-up is worth sending when the file does not say (a reminder: until the start).
FOLLOW_UP_LIFE = timedelta(days=7)
# Contact columns an audience may test; anything else is looked up in the contact's fields.
AUDIENCE_COLUMNS = ("language", "postcode_district", "age_band", "timezone")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Venue(_Model):
    """Where it is, and what makes it possible for everyone to come."""

    name: str
    address: str = ""
    access: str = Field(
        description="step-free access, hearing loop, quiet room, toilets: what people ask about"
    )


class Paid(_Model):
    """Whether people's travel and time are paid, said in the invitation."""

    travel: bool = False
    time: bool = False
    how: str = ""  # e.g. "£25 in cash or a voucher, as you prefer"

    def phrase(self) -> str:
        """The words the invitation uses: "travel and time", "travel", or "nothing"."""
        parts = [name for name, on in (("travel", self.travel), ("your time", self.time)) if on]
        said = " and ".join(parts) if parts else ""
        if self.how:
            return f"{said} ({self.how})" if said else self.how
        return said or "no expenses"


class Audience(_Model):
    """Who is invited: contacts with any of ``tags`` (everyone if none), none of
    ``exclude_tags``, and every ``where`` condition true (a value or a list of values)."""

    tags: Annotated[list[Identifier], BeforeValidator(_as_list)] = []
    exclude_tags: Annotated[list[Identifier], BeforeValidator(_as_list)] = []
    where: dict[Identifier, Annotated[list[str], BeforeValidator(_as_list)]] = {}


class Send(_Model):
    """A flow started for the people in ``to`` at an offset from the event's start."""

    at: Duration
    flow: Identifier
    to: Annotated[list[Recipient], BeforeValidator(_as_list)] = ["yes", "maybe"]
    # How long after its time the message is still worth sending (then it is dropped).
    useful_for: Duration | None = None


class EventSpec(_Model):
    """A whole event file."""

    version: int
    event: Identifier
    title: str = Field(max_length=200)
    topic: str
    description: str = ""
    starts_at: datetime
    ends_at: datetime
    timezone: str = "Europe/London"
    venue: Venue
    capacity: int | None = Field(None, ge=1)
    paid: Paid = Paid()
    audience: Audience = Audience()
    invitation: Identifier = "big-conversation-invite"
    # Invitations go out by themselves at this offset (e.g. -21d); without it, a coordinator
    # sends them with `outreach events invite`.
    invite_at: Duration | None = None
    # Replies about coming close at this offset (e.g. -2d, when numbers are due); without it,
    # at the start. Conversations open then close quietly, and a late reply is told so.
    rsvp_until: Duration | None = None
    reminders: list[Send] = []
    follow_up: Send | None = None
    # Flows the service starts itself: a freed place offered, the event moved.
    place_offer: Identifier = "event-place-offer"
    changed: Identifier = "event-changed"
    quiet_hours: QuietWindow | None = None
    # Where its invitations and reminders go for a person with several addresses, unless the
    # flow says (default: the channel they last replied on).
    channel: ChannelName | None = None

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

    @field_validator("rsvp_until")
    @classmethod
    def _closes_after_inviting(cls, value: timedelta | None, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if value > timedelta(0):
            raise ValueError("replies close at or before the start: write an offset like -2d")
        invite_at = info.data.get("invite_at")
        if invite_at is not None and invite_at >= value:
            raise ValueError(
                f"invitations (invite_at {format_duration(invite_at)}) would go out after "
                f"replies close ({format_duration(value)}): invite earlier, or close later"
            )
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _local(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError(
                "write the time as on a poster (2027-01-21 18:00) and the zone in `timezone`"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at")
        if self.invite_at is not None and self.invite_at >= timedelta(0):
            raise ValueError("invite_at is an offset before the start, like -21d")
        for reminder in self.reminders:
            if reminder.at >= timedelta(0):
                raise ValueError("reminders come before the start: write offsets like -1d")
        if self.follow_up is not None and self.follow_up.at <= timedelta(0):
            raise ValueError("the follow_up comes after the start: write an offset like +1d")
        return self

    # -- derived ----------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts_utc(self) -> datetime:
        return self.starts_at.replace(tzinfo=self.zone).astimezone(UTC)

    @property
    def rsvp_closes_utc(self) -> datetime:
        """When replies about coming close: ``rsvp_until`` before the start, else the start."""
        return self.starts_utc + (self.rsvp_until or timedelta(0))

    @property
    def ends_utc(self) -> datetime:
        return self.ends_at.replace(tzinfo=self.zone).astimezone(UTC)

    def details(self) -> dict[str, Any]:
        """What flows may say about the event, as ``{event.<name>}``."""
        return {
            "topic": self.topic,
            "description": self.description,
            "venue": self.venue.name,
            "address": self.venue.address,
            "access": self.venue.access,
            "paid": self.paid.phrase(),
            "timezone": self.timezone,
        }

    def schedule(self) -> list[tuple[str, int, Send]]:
        """Everything sent at a time, as (kind, index, what): the reminders, the follow-up."""
        out: list[tuple[str, int, Send]] = [
            ("reminder", i, reminder) for i, reminder in enumerate(self.reminders)
        ]
        if self.follow_up is not None:
            out.append(("follow-up", 0, self.follow_up))
        return out
