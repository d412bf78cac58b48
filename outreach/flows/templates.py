"""Message templates: ``{first_name}``, ``{event.venue}``, ``{answers.rsvp}``, ``{event.starts_at:date}``.

A placeholder may carry a fallback after ``|`` for when the value is missing
(``Hi {first_name|there}``); ``{{`` and ``}}`` write literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outreach.i18n.locales import FORMATS

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")

CONTACT_FIELDS = ("first_name", "last_name", "name", "language")
EVENT_FIELDS = (
    "title", "topic", "starts_at", "ends_at", "venue", "address", "access", "capacity",
    "paid", "url", "contact",
)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{name:format|fallback}`` in a template, with its offset for error positions."""

    name: str
    format: str | None
    fallback: str | None
    offset: int

    @property
    def scope(self) -> str:
        """``contact``, ``fields``, ``event`` or ``answers``."""
        head = self.name.split(".", 1)[0]
        return head if head in ("fields", "event", "answers") else "contact"

    @property
    def key(self) -> str:
        """The name within its scope (``venue`` for ``event.venue``)."""
        return self.name.split(".", 1)[1] if self.scope != "contact" else self.name


class TemplateSyntaxError(ValueError):
    """A placeholder is malformed."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


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
                "or {event.venue}", match.start())
        if fmt and fmt not in FORMATS:
            raise TemplateSyntaxError(
                f"unknown format {fmt!r} in {{{inner}}}: use one of {', '.join(FORMATS)}",
                match.start())
        out.append(Placeholder(name, fmt or None, fallback if "|" in inner else None,
                               match.start()))
    return out


def render(template: str, lookup: Callable[[Placeholder], Any],
           fmt: Callable[[Any, str | None], str]) -> str:
    """Fill ``template``; a missing value without a fallback leaves nothing, tidily.

    >>> render("Hi {first_name|there}!", lambda p: None, lambda v, f: str(v))
    'Hi there!'
    >>> render("Hi {first_name}, {{braces}}", lambda p: "Ann", lambda v, f: str(v))
    'Hi Ann, {braces}'
    """

    def fill(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        inner = match.group(1)
        body, bar, fallback = inner.partition("|")
        name, _, form = body.strip().partition(":")
        value = lookup(Placeholder(name.strip(), form or None, fallback if bar else None, 0))
        if value is None or value == "":
            return fallback if bar else ""
        return fmt(value, form or None)

    text = PLACEHOLDER.sub(fill, template)
    # A missing value should not leave "Hi , ..." or doubled spaces behind.
    return re.sub(r" {2,}", " ", re.sub(r" +([,.!?])", r"\1", text)).strip()
