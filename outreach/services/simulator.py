"""The phone simulator's use cases: made-up people texting Outreach from a browser.

Simulated contacts live on the ``simulator`` channel, so whatever is configured for real SMS,
their messages never leave the building; everything else (engine, store, outbox, consent,
segments) is the code real messages go through.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from outreach.contacts.phones import normalize_phone
from outreach.i18n.locales import text_direction
from outreach.services.conversations import Inbound
from outreach.services.runtime import Runtime
from outreach.store.consent import record_consent
from outreach.store.models import Contact, ConversationSession, DueWork, Event, Message

CHANNEL = "simulator"


class SimulatorError(ValueError):
    """A simulator request that cannot be done (shown to the coordinator as is)."""


@dataclass(frozen=True, slots=True)
class SimContact:
    id: int
    phone: str
    first_name: str | None
    language: str


def list_contacts(rt: Runtime) -> list[SimContact]:
    with rt.db.transaction() as tx:
        rows = tx.scalars(select(Contact).where(Contact.channel == CHANNEL).order_by(Contact.id))
        return [SimContact(c.id, c.phone or "", c.first_name, c.language) for c in rows]


def add_contact(rt: Runtime, *, phone: str, first_name: str | None, language: str) -> SimContact:
    """Create (or update) a made-up person; a real contact's number is refused."""
    number = normalize_phone(phone, rt.settings.default_region)
    now = rt.clock()
    with rt.db.transaction() as tx:
        contact = tx.scalar(select(Contact).where(Contact.phone == number))
        if contact is not None and contact.channel != CHANNEL:
            raise SimulatorError("that number belongs to a real contact: pick another")
        if contact is None:
            contact = Contact(
                phone=number,
                channel=CHANNEL,
                fields={},
                created_at=now,
                updated_at=now,
                timezone=rt.settings.default_timezone,
            )
            tx.add(contact)
            tx.flush()
            record_consent(
                tx,
                contact,
                "opted_in",
                source="coordinator",
                words="made up in the phone simulator",
                at=now,
            )
        contact.first_name = first_name or None
        contact.language = language or rt.settings.default_language
        contact.updated_at = now
        return SimContact(contact.id, number, contact.first_name, contact.language)


def send(rt: Runtime, contact_id: int, text: str) -> None:
    """The simulated person texts ``text``: the same path as a Twilio webhook."""
    contact = _contact(rt, contact_id)
    rt.conversations.receive(
        Inbound(CHANNEL, contact.phone, text[:1600], f"SIMIN{secrets.token_hex(12)}")
    )
    rt.outbox.flush(contact_id=contact_id)


def start(rt: Runtime, contact_id: int, flow: str) -> None:
    """Start ``flow`` for the person, about the next event to come (if there is one)."""
    _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        event_id = tx.scalar(
            select(Event.id).where(Event.starts_at >= rt.clock()).order_by(Event.starts_at).limit(1)
        )
    rt.conversations.start(contact_id, flow, event_id=event_id)
    rt.outbox.flush(contact_id=contact_id)


# A conversation's own timers (an event's sends come from the worker, on the clock).
TIMERS = ("reminder", "timeout")


def fire_next(rt: Runtime, contact_id: int) -> str | None:
    """Make the person's next reminder or timeout happen now; returns its kind."""
    _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        item = tx.scalar(
            select(DueWork)
            .where(DueWork.contact_id == contact_id, DueWork.kind.in_(TIMERS))
            .order_by(DueWork.due_at)
            .limit(1)
        )
        found = (item.id, item.kind) if item is not None else None
    if found is None:
        return None
    rt.conversations.fire(found[0], force=True)
    rt.outbox.flush(contact_id=contact_id)
    return found[1]


def conversation(rt: Runtime, contact_id: int) -> dict[str, Any]:
    """What the phone shows: the messages, and where the conversation stands."""
    contact = _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        messages = tx.scalars(
            select(Message).where(Message.contact_id == contact_id).order_by(Message.id)
        )
        session = tx.scalar(
            select(ConversationSession)
            .where(ConversationSession.contact_id == contact_id)
            .order_by(ConversationSession.id.desc())
        )
        due = tx.scalar(
            select(DueWork)
            .where(DueWork.contact_id == contact_id, DueWork.kind.in_(TIMERS))
            .order_by(DueWork.due_at)
            .limit(1)
        )
        return {
            "contact": {
                "id": contact.id,
                "phone": contact.phone,
                "first_name": contact.first_name,
                "language": contact.language,
                "dir": text_direction(contact.language),
            },
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "body": m.body,
                    "kind": m.kind,
                    "status": m.status,
                    "segments": m.segments,
                    "encoding": m.encoding,
                    "at": _iso(m.created_at),
                }
                for m in messages
            ],
            "session": None
            if session is None
            else {
                "flow": session.flow,
                "step": session.step,
                "status": session.status,
                "end_reason": session.end_reason,
            },
            "next_due": None if due is None else {"kind": due.kind, "at": _iso(due.due_at)},
        }


def _contact(rt: Runtime, contact_id: int) -> SimContact:
    with rt.db.transaction() as tx:
        contact = tx.get(Contact, contact_id)
        if contact is None or contact.channel != CHANNEL or contact.phone is None:
            raise SimulatorError("no simulated contact with that id")
        return SimContact(contact.id, contact.phone, contact.first_name, contact.language)


def _iso(value: datetime) -> str:
    return value.isoformat()
