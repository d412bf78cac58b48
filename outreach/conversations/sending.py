"""Sending policy: what a message looks like on the person's channel, when it may go, and
whether it may go at all; then into the outbox, in the transaction that decided it.

The channel is the one serving the address the message goes to, so its rendering (numbered
options and segments for SMS, buttons for Slack) is stored with the message, beside the
channel-neutral content. What Outreach starts waits for the day to begin where the person is
(the flow's quiet hours, else the event's, else the default); replies and urgent notices go at
once. Consent is checked here and again by the dispatcher just before sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import Connection

from outreach.channels.base import Channel, Rendered
from outreach.contacts.quiet_hours import QuietHours
from outreach.content import Content
from outreach.flows.loader import FlowDefinition
from outreach.flows.templates import Placeholder, render
from outreach.i18n.catalogs import Translate
from outreach.i18n.locales import format_value, in_language
from outreach.settings import Settings
from outreach.store import messages
from outreach.store.contacts import Person

_RENDERED_KEPT = 4096  # distinct messages whose rendering is kept


@dataclass(frozen=True, slots=True)
class Queued:
    """A message a transaction logged for a person: queued to send, or suppressed."""

    message_id: int
    address_id: int | None
    content: Content
    rendered: Rendered
    status: str  # queued | suppressed


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message decided on but not yet stored: its row, and its outbox row (None: it may
    not be sent)."""

    message: dict[str, Any]
    outbox: dict[str, Any] | None
    content: Content
    rendered: Rendered

    def queued(self, message_id: int) -> Queued:
        status = self.message["status"]
        return Queued(message_id, self.message["address_id"], self.content, self.rendered, status)


class Sender:
    """Renders, times and queues outgoing messages."""

    def __init__(
        self,
        *,
        channels: Mapping[str, Channel],
        flows: Mapping[str, FlowDefinition],
        settings: Settings,
        translate: Translate,
    ) -> None:
        self.channels = dict(channels)  # by address scheme
        self._rendered: dict[tuple[str | None, Content, str], Rendered] = {}
        self.flows = flows
        self.translate = translate
        self.quiet_hours = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
        self.values: dict[str, str | dict[str, str]] = {
            "org": settings.org_name,
            "help": settings.help_contact,
            "how": settings.alphanumeric_opt_out,
            "crisis": settings.crisis_contacts,
        }

    def channel_name(self, scheme: str | None) -> str:
        """What the message log records for messages at an address of ``scheme``."""
        channel = self.channels.get(scheme or "")
        return channel.name if channel is not None else scheme or "none"

    def render(self, scheme: str | None, content: Content, language: str) -> Rendered:
        """``content`` as the channel for ``scheme`` shows it (plain text with no channel).
        Rendering is pure, and an invitation reads the same for thousands of people (names
        aside): each is rendered once, from a bounded cache."""
        key = (scheme, content, language)
        found = self._rendered.get(key)
        if found is None:
            channel = self.channels.get(scheme or "")
            found = (
                channel.render(content, language) if channel is not None else Rendered(content.text)
            )
            if len(self._rendered) >= _RENDERED_KEPT:
                self._rendered.clear()
            self._rendered[key] = found
        return found

    def system(
        self,
        language: str,
        template: str,
        *,
        timezone: str = "UTC",
        values: Mapping[str, Any] | None = None,
    ) -> Content:
        """A system text (an opt-out receipt, HELP) in the person's language, filled in from
        the settings (given per language, or translated by the catalogs) and ``values`` (dates
        shown in ``timezone``, as the language writes them)."""
        extra = values or {}

        def value(placeholder: Placeholder) -> Any:
            if placeholder.name in extra:
                return extra[placeholder.name]
            found = in_language(self.values.get(placeholder.name), language)
            return self.translate(language, found) if isinstance(found, str) else ""

        text = render(
            self.translate(language, template),
            value,
            lambda v, f: format_value(v, f, language=language, timezone=timezone),
        )
        return Content(text, kind="system")

    def queue(
        self,
        connection: Connection,
        person: Person,
        content: Content,
        now: datetime,
        **how: Any,
    ) -> Queued:
        """Log an outgoing message and queue it, unless the person may not be sent it
        (``how``: as for ``outgoing``)."""
        out = self.outgoing(person, content, now, **how)
        return out.queued(messages.queue(connection, out.message, out.outbox))

    def outgoing(
        self,
        person: Person,
        content: Content,
        now: datetime,
        *,
        urgent: bool = False,
        consent_exempt: bool = False,
        flow: str | None = None,
        step: str | None = None,
        session_id: int | None = None,
        initiated: bool = False,
        expires_at: datetime | None = None,
        event_window: Mapping[str, str] | None = None,
    ) -> Outgoing:
        """The message (and its outbox row, unless the person may not be sent it), decided
        and rendered, for the caller to store."""
        channel = self.channels.get(person.scheme or "")
        rendered = self.render(person.scheme, content, person.language)
        not_before = now
        if initiated and not urgent and (channel is None or not channel.rehearsal):
            window = self.window(flow, event_window)
            not_before = window.next_allowed(now, person.timezone)
        refused = (
            (person.opted_out and not consent_exempt)
            or person.erased_at is not None
            or person.address_id is None
        )
        status = "suppressed" if refused else "queued"
        message: dict[str, Any] = {
            "contact_id": person.id,
            "address_id": person.address_id,
            "channel": self.channel_name(person.scheme),
            "direction": "out",
            "body": rendered.text,
            "content": content.to_json(),
            "kind": content.kind,
            "status": status,
            "status_history": [messages.entry(status, now)],
            "encoding": rendered.encoding,
            "segments": rendered.segments,
            "flow": flow,
            "step": step,
            "session_id": session_id,
            "created_at": now,
            "updated_at": now,
        }
        outbox = None
        if not refused:
            outbox = {
                "contact_id": person.id,
                "address_id": person.address_id,
                "urgent": urgent,
                "consent_exempt": consent_exempt,
                "state": "queued",
                "not_before": not_before,
                "expires_at": expires_at,
                "attempts": 0,
                "created_at": now,
            }
        return Outgoing(message, outbox, content, rendered)

    def window(self, flow: str | None, event_window: Mapping[str, str] | None) -> QuietHours:
        """The flow's own quiet hours, else the event's, else the default."""
        definition = self.flows.get(flow) if flow else None
        window = definition.flow.quiet_hours if definition else None
        if window is not None:
            return QuietHours(window.start, window.end)
        if event_window:
            return QuietHours(
                time.fromisoformat(event_window["start"]), time.fromisoformat(event_window["end"])
            )
        return self.quiet_hours
