"""Message templates: ``{first_name}``, ``{event.venue}``, ``{answers.rsvp}``, dates.

Dates take a format: ``{event.starts_at:date}``. A placeholder may carry a fallback after ``|``
for when the value is missing (``Hi {first_name|there}``); ``{{`` and ``}}`` write braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from outreach.errors import TemplateSyntaxError
from outreach.i18n.locales import FORMATS

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")

CONTACT_FIELDS = ("first_name", "last_name", "name", "language")
EVENT_FIELDS = (
    "title",
    "topic",
    "starts_at",
    "ends_at",
    "venue",
    "address",
    "access",
    "capacity",
    "places_left",
    "full",
    "paid",
    "url",
    "contact",
)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{name:format|fallback}`` in a template, with its offset for error positions."""

    name: str
    format: str | None = None
    fallback: str | None = None
    offset: int = 0
    scope: str = field(init=False)  # contact, fields, event or answers
    key: str = field(init=False)  # the name within its scope (venue for event.venue)

    def __post_init__(self) -> None:
        head, dot, rest = self.name.partition(".")
        scoped = dot and head in ("fields", "event", "answers")
        object.__setattr__(self, "scope", head if scoped else "contact")
        object.__setattr__(self, "key", rest if scoped else self.name)


def placeholders(template: str) -> list[Placeholder]:
    """The placeholders of ``template``; raises ``TemplateSyntaxError`` for a malformed one.

    >>> [p.name for p in placeholders("Hi {first_name|there}, see you {event.starts_at:date}")]
    ['first_name', 'event.starts_at']
    """
    out = []
    for match in PLACEHOLDER.finditer(template):
        inner = match.group(1)
        if inner is None:
            continue
        body, _, fallback = inner.partition("|")
        name, _, fmt = body.strip().partition(":")
        name = name.strip()
        if not _NAME.match(name):
            raise TemplateSyntaxError(
                f"{{{inner}}} is not a placeholder: write a name like {{first_name}} "
                "or {event.venue}",
                match.start(),
            )
        if fmt and fmt not in FORMATS:
            raise TemplateSyntaxError(
                f"unknown format {fmt!r} in {{{inner}}}: use one of {', '.join(FORMATS)}",
                match.start(),
            )
        out.append(
            Placeholder(name, fmt or None, fallback if "|" in inner else None, match.start())
        )
    return out


Segment = str | Placeholder


@lru_cache(maxsize=8192)
def compile_template(template: str) -> tuple[Segment, ...]:
    """``template`` split once into literal text and placeholders, for fast rendering.

    A malformed placeholder is kept as literal text: validation reports it before any send.
    """
    segments: list[Segment] = []
    last = 0
    for match in PLACEHOLDER.finditer(template):
        segments.append(template[last : match.start()])
        last = match.end()
        inner = match.group(1)
        if inner is None:
            segments.append(match.group(0)[0])
            continue
        body, bar, fallback = inner.partition("|")
        name, _, form = body.strip().partition(":")
        segments.append(Placeholder(name.strip(), form or None, fallback if bar else None, 0))
    segments.append(template[last:])
    return tuple(s for s in segments if s != "")


def render(
    template: str, lookup: Callable[[Placeholder], Any], fmt: Callable[[Any, str | None], str]
) -> str:
    """Fill ``template``; a missing value without a fallback leaves nothing, tidily.

    >>> render("Hi {first_name|there}!", lambda p: None, lambda v, f: str(v))
    'Hi there!'
    >>> render("Hi {first_name}, {{braces}}", lambda p: "Ann", lambda v, f: str(v))
    'Hi Ann, {braces}'
    >>> render("Hi {first_name}, welcome", lambda p: None, lambda v, f: str(v))
    'Hi, welcome'
    """
    parts: list[str] = []
    gaps = False
    for segment in compile_template(template):
        if isinstance(segment, str):
            parts.append(segment)
            continue
        value = lookup(segment)
        if value is None or value == "":
            if segment.fallback:
                parts.append(segment.fallback)
            else:  # no fallback, or an empty one ("Dzień dobry {first_name|},")
                gaps = True
        else:
            parts.append(fmt(value, segment.format))
    text = "".join(parts)
    if gaps:
        # A missing value should not leave "Hi , ..." or doubled spaces behind.
        text = re.sub(r" {2,}", " ", re.sub(r" +([,.!?])", r"\1", text)).strip()
    return text
