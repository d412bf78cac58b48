"""The event file format: a Big Conversation, who is invited, and what is sent when.

An event file lives among the flows and says so on its first line of substance (``event:
<id>``). Times are written as on a poster, in the event's own time zone; reminders and the
follow-up are offsets from the start (``-7d``, ``-2h``, ``+1d``). Documented for coordinators
in docs/events.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
from outreach.i18n.catalogs import N_, Translate
from outreach.i18n.locales import in_language

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


LANGUAGE_TAG = r"^[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$"


def _texts_by_language(value: Any) -> Any:
    """``{en: ..., cy: ...}``: every key a language tag, English given (the fallback)."""
    if isinstance(value, dict):
        if "en" not in value:
            raise ValueError("give the English too (en: ...): other languages fall back to it")
        bad = [str(k) for k in value if not isinstance(k, str) or not re.match(LANGUAGE_TAG, k)]
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a language code: write cy, pl, pt_BR")
    return value


LocalText = Annotated[str | dict[str, str], BeforeValidator(_texts_by_language)]
"""A text people read: one for everyone, or one per language (``{en: ..., cy: ...}``)."""

# What the invitation says is paid ("We pay travel and your time").
PAID_BOTH = N_("travel and your time")
PAID_TRAVEL = N_("travel")
PAID_TIME = N_("your time")
PAID_NOTHING = N_("no expenses")


def english_text(text: str | dict[str, str]) -> str:
    """The English of a ``LocalText``."""
    return text if isinstance(text, str) else text["en"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Venue(_Model):
    """Where it is, and what makes it possible for everyone to come."""

    name: LocalText
    address: str = ""
    access: LocalText = Field(
        description="step-free access, hearing loop, quiet room, toilets: what people ask about"
    )


class Paid(_Model):
    """Whether people's travel and time are paid, said in the invitation."""

    travel: bool = False
    time: bool = False
    how: LocalText = ""  # e.g. "£25, in cash or a voucher"

    def phrase(self, language: str = "en", translate: Translate | None = None) -> str:
        """The words the invitation uses, in ``language``: "travel and your time (£25)",
        "travel", "no expenses".

        >>> Paid(travel=True, time=True, how="£25").phrase()
        'travel and your time (£25)'
        """
        if self.travel and self.time:
            said = PAID_BOTH
        else:
            said = PAID_TRAVEL if self.travel else PAID_TIME if self.time else ""
        if translate is not None and said:
            said = translate(language, said)
        how = in_language(self.how, language)
        if how:
            return f"{said} ({how})" if said else how
        if said:
            return said
        return translate(language, PAID_NOTHING) if translate is not None else PAID_NOTHING


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
    topic: LocalText
    description: LocalText = ""
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

    def details(
        self, translate: Translate | None = None, languages: Iterable[str] = ()
    ) -> dict[str, Any]:
        """What flows may say about the event, as ``{event.<name>}``. Texts given per language
        stay so; what is paid is said in each of ``languages`` (with the catalogs'
        ``translate``), and the engine picks the person's language when it sends."""
        paid: str | dict[str, str] = self.paid.phrase()
        if translate is not None:
            paid = {tag: self.paid.phrase(tag, translate) for tag in {"en", *languages}}
        return {
            "topic": self.topic,
            "description": self.description,
            "venue": self.venue.name,
            "address": self.venue.address,
            "access": self.venue.access,
            "paid": paid,
            "timezone": self.timezone,
        }

    def fields(
        self, translate: Translate | None = None, languages: Iterable[str] = ()
    ) -> dict[str, Any]:
        """The event as its flows see it before anyone has replied."""
        return {
            **self.details(translate, languages),
            "title": self.title,
            "starts_at": self.starts_utc,
            "ends_at": self.ends_utc,
            "capacity": self.capacity,
            "places_left": self.capacity,
            "full": False,
        }

    def missing_languages(self, languages: Iterable[str]) -> dict[str, list[str]]:
        """For each of ``languages`` but English, the texts of this file that are not given in
        it (by their path, e.g. ``venue.access``): readers of that language get English."""
        texts = {
            "topic": self.topic,
            "description": self.description,
            "venue.name": self.venue.name,
            "venue.access": self.venue.access,
            "paid.how": self.paid.how,
        }
        missing: dict[str, list[str]] = {}
        for language in languages:
            if language == "en":
                continue
            lacking = [
                name
                for name, text in texts.items()
                if text and (isinstance(text, str) or language not in text)
            ]
            if lacking:
                missing[language] = lacking
        return missing

    def schedule(self) -> list[tuple[str, int, Send]]:
        """Everything sent at a time, as (kind, index, what): the reminders, the follow-up."""
        out: list[tuple[str, int, Send]] = [
            ("reminder", i, reminder) for i, reminder in enumerate(self.reminders)
        ]
        if self.follow_up is not None:
            out.append(("follow-up", 0, self.follow_up))
        return out
