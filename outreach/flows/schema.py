"""The flow file format, as typed models (documented for coordinators in docs/flows.md).

A flow is a list of steps. What a step does is given by which fields it has: ``send`` sends a
message, ``ask`` waits for an answer, ``statements`` asks for votes on statements one at a
time, ``branch`` chooses the next step, ``set``/``tag`` change the contact, ``start_flow``
runs another flow, ``handoff`` passes the person to a human, ``rsvp`` records an event reply
and ``end`` stops. Several can be combined in one step; the changes
(``set``, ``tag``, ``rsvp``, ``handoff``) come first, then ``send``, then ``ask`` or the jump.
"""

from __future__ import annotations

from datetime import time as dt_time
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from outreach.durations import parse_duration

SCHEMA_VERSION = 1

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
Duration = Annotated[
    timedelta, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str) else v)
]
Scalar = str | int | float | bool
# The channel a flow or event prefers for what it starts, where a person has more than one.
ChannelName = Literal["sms", "slack"]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _shorthand(key: str) -> Any:
    """Let ``field: text`` stand for ``field: {key: text}``."""

    def convert(value: Any) -> Any:
        return {key: value} if isinstance(value, str) else value

    return BeforeValidator(convert)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


OptionKind = Literal["yes", "no", "maybe", "more", "other"]
MEANINGS: tuple[str, ...] = ("yes", "no", "maybe", "more")


class Option(_Model):
    """One answer of a choice question.

    Replies match its number, key, label or any ``match`` word, in English and (through the
    catalogs) in the person's language. ``kind`` says what it means, so the words people use
    for it in every language work too (an option keyed ``yes``, ``no``, ``maybe`` or ``more``
    means that already); an option of kind ``other`` keeps a reply that fits no option, in the
    person's own words, instead of asking again.
    """

    label: str
    match: Annotated[list[str], BeforeValidator(_as_list)] = []
    note: str | None = None
    kind: OptionKind | None = None


class NumberSpec(_Model):
    """A number, optionally within ``min``..``max`` (inclusive)."""

    min: float | None = None
    max: float | None = None
    whole: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> NumberSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class RatingSpec(_Model):
    """A whole number on a scale, 1 to 5 unless told otherwise."""

    min: int = 1
    max: int = 5

    @model_validator(mode="after")
    def _ordered(self) -> RatingSpec:
        if not 0 <= self.min < self.max <= 10:
            raise ValueError("a rating scale runs from min to max within 0..10, min below max")
        return self


class TextSpec(_Model):
    """Free text, up to ``max_length`` characters."""

    max_length: int = Field(1000, ge=1, le=5000)


class DateSpec(_Model):
    """A date; ``future`` refuses dates already past."""

    future: bool = False


class YesNoSpec(_Model):
    """A yes or a no, in the person's language."""


AskKind = Literal["choice", "yesno", "number", "rating", "date", "text"]
ASK_KINDS: tuple[AskKind, ...] = ("choice", "yesno", "number", "rating", "date", "text")


def _ask_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, dict):
        return {k: ({} if v is None and k != "choice" else v) for k, v in value.items()}
    return value


class Ask(_Model):
    """What kind of answer a question waits for. Exactly one kind is given."""

    choice: dict[str, Annotated[Option, _shorthand("label")]] | None = None
    yesno: YesNoSpec | None = None
    number: NumberSpec | None = None
    rating: RatingSpec | None = None
    date: DateSpec | None = None
    text: TextSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Ask:
        given = [k for k in ASK_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "ask needs exactly one kind of answer: choice, yesno, number, rating, date or text"
            )
        if self.choice is not None and len(self.choice) < 2:
            raise ValueError("a choice needs at least two options")
        if self.choice is not None:
            others = [k for k, o in self.choice.items() if o.kind == "other"]
            if len(others) > 1:
                raise ValueError(
                    f"only one option can be of kind other (the reply in their own words), "
                    f"not {', '.join(others)}"
                )
        return self

    @property
    def kind(self) -> AskKind:
        return next(k for k in ASK_KINDS if getattr(self, k) is not None)

    def kinds(self) -> dict[str, str | None]:
        """What each option of a choice means: its ``kind``, or its key if that is a meaning."""
        return {
            key: option.kind or (key if key in MEANINGS else None)
            for key, option in (self.choice or {}).items()
        }

    @cached_property
    def other(self) -> str | None:
        """The option that keeps a reply fitting no other option, if there is one."""
        return next((k for k, o in (self.choice or {}).items() if o.kind == "other"), None)

    def branch_keys(self) -> tuple[str, ...]:
        """The answers that ``next`` may branch on for this kind of question."""
        if self.choice is not None:
            return tuple(self.choice)
        if self.yesno is not None:
            return ("yes", "no")
        return ()


class Statements(_Model):
    """Statements to vote on, one at a time: 1 agree, 2 disagree, 3 pass (buttons in Slack).

    ``conversation`` names the set of statements (by default the id of the event the
    conversation is about); the step moves on after ``count`` votes or when none are left.
    With ``own`` a person may reply NEW and a statement of their own, which nobody sees until
    a coordinator approves it.
    """

    conversation: Identifier | None = None
    count: int = Field(5, ge=1, le=100)
    own: bool = True


class Condition(_Model):
    """A test on a contact field, an answer or a tag; one operator besides ``field``."""

    field: str | None = None
    tag: str | None = None
    is_: Scalar | None = Field(None, alias="is")
    is_not: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    at_least: float | None = None
    at_most: float | None = None
    is_set: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        operators = [
            n
            for n in ("is_", "is_not", "in_", "at_least", "at_most", "is_set")
            if getattr(self, n) is not None
        ]
        if self.tag is not None:
            if self.field is not None or operators:
                raise ValueError("a tag test stands alone: write `if: {tag: carer}`")
            return self
        if self.field is None:
            raise ValueError("a condition needs `field:` (or `tag:`)")
        if len(operators) != 1:
            raise ValueError(
                "a condition needs exactly one test: is, is_not, in, at_least, at_most or is_set"
            )
        return self


class Case(_Model):
    """One arm of a branch: go to ``next`` when the condition holds."""

    if_: Condition = Field(alias="if")
    next: Identifier


class SubFlow(_Model):
    """Run another flow; with ``return: true`` come back to this step's ``next`` afterwards."""

    flow: Identifier
    return_: bool = Field(True, alias="return")


class Handoff(_Model):
    """Pass the person to a human (a partner or coordinator), with a note for them."""

    note: str
    team: str | None = None


def _next_shorthand(value: Any) -> Any:
    if value is None or isinstance(value, str | dict):
        return value
    raise ValueError("next is a step id, or a mapping from answers to step ids")


class Step(_Model):
    """One step of a flow."""

    id: Identifier
    note: str | None = None  # for translators and readers; never sent

    # what it says
    send: str | None = None
    urgent: bool = False

    # what it asks
    ask: Annotated[Ask | None, BeforeValidator(_ask_shorthand)] = None
    save_as: Identifier | None = None
    retries: int = Field(2, ge=0, le=10)
    hint: str | None = None
    remind_after: Duration | None = None
    reminder: str | None = None
    timeout_after: Duration | None = None

    # statements to vote on (agree, disagree, pass), one at a time
    statements: Annotated[Statements | None, _shorthand("conversation")] = None

    # what it decides
    branch: list[Case] | None = None
    otherwise: Identifier | None = None

    # what it changes
    set: dict[str, Scalar] | None = None
    tag: Annotated[list[Identifier] | None, BeforeValidator(_as_list)] = None
    start_flow: Annotated[SubFlow | None, _shorthand("flow")] = None
    handoff: Annotated[Handoff | None, _shorthand("note")] = None
    rsvp: Literal["yes", "no", "maybe"] | None = None
    end: bool = False

    # where it goes
    next: Annotated[str | dict[str, str] | None, BeforeValidator(_next_shorthand)] = None

    def targets(self) -> list[tuple[str, str]]:
        """Every (label, step id) this step can go to next, in the flow."""
        out: list[tuple[str, str]] = []
        if isinstance(self.next, str):
            out.append(("next", self.next))
        elif isinstance(self.next, dict):
            out.extend(self.next.items())
        for case in self.branch or ():
            out.append(("branch", case.next))
        if self.otherwise:
            out.append(("otherwise", self.otherwise))
        return out

    @property
    def waits(self) -> bool:
        return self.ask is not None or self.statements is not None


class QuietWindow(_Model):
    """When this flow's messages may go out, local time (overrides the default 09:00-20:00)."""

    start: dt_time
    end: dt_time

    @model_validator(mode="after")
    def _ordered(self) -> QuietWindow:
        if self.start >= self.end:
            raise ValueError("quiet_hours start must come before end, e.g. 09:00 and 20:00")
        return self


class Flow(_Model):
    """A whole flow file."""

    version: int
    flow: Identifier
    description: str
    keywords: Annotated[list[str], BeforeValidator(_as_list)] = []
    interrupts: bool = False
    expire_after: Duration = timedelta(days=7)
    uses_fields: list[Identifier] = []
    quiet_hours: QuietWindow | None = None
    # Where what this flow starts goes for a person with several addresses (default: the
    # channel they last replied on).
    channel: ChannelName | None = None
    steps: list[Step] = Field(min_length=1)
