"""The values the engine takes and gives: contacts, sessions, triggers and actions.

All are JSON-friendly, because sessions are stored between replies and actions are applied by
the service layer in one transaction. What callers build (contacts, triggers) is frozen. What the
engine builds on every reply (sessions, waits, actions, outcomes) is a plain slotted dataclass:
building a frozen one costs about twice as much (each field goes through ``object.__setattr__``),
which cut the engine's throughput by 40% in ``benchmarks/engine.py``. Nothing mutates them:
treat them as values and make changed copies with ``evolve``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

import orjson

from outreach.content import Content

# -- what the engine knows of a person -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """The contact as the engine sees it: fields for templates and branches, no phone number."""

    language: str = "en"
    timezone: str = "Europe/London"
    fields: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()


# -- session state -------------------------------------------------------------------------------


@dataclass(slots=True)
class Frame:
    """Where to carry on in a calling flow when a sub-flow ends (``step`` None: end it too)."""

    flow: str
    step: str | None


@dataclass(slots=True)
class Wait:
    """A question waiting for its answer."""

    step: str
    seq: int  # which wait this is; stale reminders and timeouts carry an older number
    since: datetime
    timeout_at: datetime
    reminder_at: datetime | None = None
    reminded: bool = False
    invalid: int = 0
    # At a statements step: the statement shown (its id and words), the votes given at this
    # step so far and the statements of their own the person sent.
    statement: int | None = None
    statement_text: str | None = None
    votes: int = 0
    proposed: int = 0

    def evolve(
        self, *, reminded: bool | None = None, invalid: int | None = None, proposed: int = 0
    ) -> Wait:
        """This wait after a reminder or an invalid reply (faster than dataclasses.replace)."""
        return Wait(
            self.step,
            self.seq,
            self.since,
            self.timeout_at,
            self.reminder_at,
            self.reminded if reminded is None else reminded,
            self.invalid if invalid is None else invalid,
            self.statement,
            self.statement_text,
            self.votes,
            self.proposed + proposed,
        )


Status = Literal["waiting", "ended"]


@dataclass(slots=True)
class Session:
    """One person's place in a conversation; small, serialisable, stored as JSON."""

    flow: str
    version: str
    status: Status
    started_at: datetime
    answers: Mapping[str, Any] = field(default_factory=dict)
    stack: tuple[Frame, ...] = ()
    wait: Wait | None = None
    seq: int = 0
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def step(self) -> str | None:
        return self.wait.step if self.wait else None

    @property
    def active(self) -> bool:
        return self.status == "waiting"

    def to_json(self) -> str:
        # Shallow, by hand: dataclasses.asdict deep-copies every value, a sixth of a reply's
        # cost in the store; json.dumps walks the answers itself.
        data = _shallow(self)
        data["stack"] = [_shallow(frame) for frame in self.stack]
        data["wait"] = _shallow(self.wait) if self.wait is not None else None
        try:
            return orjson.dumps(data, default=_encode, option=_ORJSON).decode()
        except orjson.JSONEncodeError:  # what orjson cannot write (a 65-bit integer)
            return json.dumps(data, default=_encode, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Session:
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:  # a NaN the standard library wrote in an older version
            raw = json.loads(text)
        wait = raw.pop("wait")
        return cls(
            **{k: _decode_time(k, v) for k, v in raw.items() if k != "stack"},
            stack=tuple(Frame(**f) for f in raw["stack"]),
            wait=Wait(**{k: _decode_time(k, v) for k, v in wait.items()}) if wait else None,
        )

    def evolve(self, **changes: Any) -> Session:
        return replace(self, **changes)


# orjson: a session is written with every start and reply, and the standard library's
# encoder was most of the writing; keys sorted and non-string keys kept, as before.
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _shallow(value: Any) -> dict[str, Any]:
    names = _NAMES.get(type(value))
    if names is None:  # each kind's field names found once: ``fields`` was a tenth of writing
        names = _NAMES[type(value)] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


_NAMES: dict[type, tuple[str, ...]] = {}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a session")


_TIME_KEYS = frozenset({"started_at", "ended_at", "since", "timeout_at", "reminder_at"})


def _decode_time(key: str, value: Any) -> Any:
    if key in _TIME_KEYS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


# -- triggers: what happens to a session ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """A statement the person may be shown next: its id and words."""

    id: int
    text: str


NO_OFFERS: Mapping[str, tuple[Offer, ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """Something that happens to a person's conversation at time ``at``: a start, a reply, a
    button press, a reminder or a timeout falling due. (Not a Big Conversation event: those
    reach the engine as ``event``, the fields its messages can show.)"""

    at: datetime
    contact: Contact
    event: Mapping[str, Any] | None = None  # the Big Conversation this is about, if any
    # The statements to offer next, best first, by conversation: read by the service before
    # the engine runs, for the conversations ``Engine.conversations`` says it may need.
    offers: Mapping[str, tuple[Offer, ...]] = field(default_factory=lambda: NO_OFFERS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Start(Trigger):
    """Start ``flow`` for the contact (by a coordinator, an invitation or a keyword)."""

    flow: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply(Trigger):
    """The person sent text."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Button(Trigger):
    """The person pressed a button (Slack) whose value is an option key."""

    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderDue(Trigger):
    """A reminder scheduled for wait number ``seq`` fell due."""

    seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutDue(Trigger):
    """A timeout scheduled for wait number ``seq`` fell due."""

    seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowChanged(Trigger):
    """The flow file changed (or was removed) while the person was mid-conversation."""


# -- actions: what the engine asks the world to do -----------------------------------------------


@dataclass(slots=True)
class SendMessage:
    """Send ``content`` (translated and filled in; each channel renders it) to the person."""

    flow: str
    step: str
    content: Content
    urgent: bool = False


@dataclass(slots=True)
class SaveAnswer:
    """Record an answer: the words used and what they were understood to mean."""

    flow: str
    step: str
    name: str
    raw: str
    value: Any


@dataclass(slots=True)
class SetField:
    name: str
    value: Any


@dataclass(slots=True)
class AddTag:
    tag: str


@dataclass(slots=True)
class Schedule:
    """Wake this session at ``due_at``; replaces anything scheduled for it before."""

    kind: Literal["reminder", "timeout"]
    due_at: datetime
    seq: int


@dataclass(slots=True)
class Handoff:
    """Pass the person to a human with a note."""

    flow: str
    step: str
    note: str
    team: str | None = None


@dataclass(slots=True)
class Rsvp:
    """The person's reply to the event the conversation is about."""

    status: Literal["yes", "no", "maybe"]


@dataclass(slots=True)
class Vote:
    """The person's vote on a statement: agree, disagree or pass."""

    conversation: str
    statement: int
    vote: Literal["agree", "disagree", "pass"]


@dataclass(slots=True)
class Propose:
    """A statement of the person's own, to wait for a coordinator's approval."""

    conversation: str
    text: str


@dataclass(slots=True)
class EndSession:
    """The conversation ended; ``reason`` is a stable code, ``detail`` says more."""

    flow: str
    reason: str
    detail: str = ""


Action = (
    SendMessage
    | SaveAnswer
    | SetField
    | AddTag
    | Schedule
    | Handoff
    | Rsvp
    | Vote
    | Propose
    | EndSession
)


@dataclass(slots=True)
class Outcome:
    """What one trigger did: the session afterwards (None if there is none) and the actions."""

    session: Session | None
    actions: tuple[Action, ...] = ()
    handled: bool = True  # False: no flow wanted this reply (the service flags it for a human)
    started: bool = False  # True: ``session`` is a new run, not the one handed in

    def messages(self) -> list[SendMessage]:
        return [a for a in self.actions if isinstance(a, SendMessage)]
