"""The phone simulator's use cases: made-up people texting Outreach from a browser.

Simulated people are reached at ``sim`` addresses, served by the simulator channel, so whatever
is configured for real SMS their messages never leave the building; everything else (engine,
store, outbox, consent, segments) is the code real messages go through. A made-up number later
imported as a real person's becomes a ``tel`` address, and real SMS follow.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from outreach.channels.base import Inbound
from outreach.contacts.addresses import SIM, TEL
from outreach.contacts.phones import normalize_phone
from outreach.errors import SimulatorError
from outreach.i18n.locales import text_direction
from outreach.services.runtime import Runtime
from outreach.store import contacts, due
from outreach.store.models import Contact, ContactAddress, ConversationSession, Event, Message


@dataclass(frozen=True, slots=True)
class SimContact:
    id: int
    phone: str
    first_name: str | None
    language: str


def list_contacts(rt: Runtime) -> list[SimContact]:
    with rt.db.transaction() as tx:
        rows = tx.execute(
            select(Contact, ContactAddress.address)
            .join(ContactAddress, ContactAddress.contact_id == Contact.id)
            .where(ContactAddress.scheme == SIM)
            .order_by(Contact.id)
        ).all()
        return [SimContact(c.id, address, c.first_name, c.language) for c, address in rows]


def add_contact(rt: Runtime, *, phone: str, first_name: str | None, language: str) -> SimContact:
    """Create (or update) a made-up person; a real contact's number is refused."""
    number = normalize_phone(phone, rt.settings.default_region)
    now = rt.clock()
    with rt.db.transaction() as tx:
        if contacts.find_address(tx, TEL, number) is not None:
            raise SimulatorError("that number belongs to a real contact: pick another")
        found = contacts.find_address(tx, SIM, number)
        if found is None:
            person = contacts.create(
                tx.connection(),
                SIM,
                number,
                {
                    "language": language or rt.settings.default_language,
                    "timezone": rt.settings.default_timezone,
                    "fields": {},
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                },
                {
                    "status": "opted_in",
                    "source": "coordinator",
                    "words": "made up in the phone simulator",
                    "at": now,
                },
            )
            contact_id = person.id
        else:
            contact_id = found.contact_id
        contacts.update_contact(
            tx.connection(),
            contact_id,
            {
                "first_name": first_name or None,
                "language": language or rt.settings.default_language,
                "updated_at": now,
            },
        )
        return SimContact(
            contact_id, number, first_name or None, language or rt.settings.default_language
        )


def send(rt: Runtime, contact_id: int, text: str) -> None:
    """The simulated person texts ``text``: the same path as a Twilio webhook."""
    contact = _contact(rt, contact_id)
    rt.conversations.receive(
        Inbound(SIM, contact.phone, text[:1600], f"SIMIN{secrets.token_hex(12)}")
    )
    rt.dispatcher.flush(contact_id=contact_id)


def start(rt: Runtime, contact_id: int, flow: str) -> None:
    """Start ``flow`` for the person, about the next event to come (if there is one)."""
    _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        event_id = tx.scalar(
            select(Event.id).where(Event.starts_at >= rt.clock()).order_by(Event.starts_at).limit(1)
        )
    rt.conversations.start(contact_id, flow, event_id=event_id)
    rt.dispatcher.flush(contact_id=contact_id)


# A conversation's own timers (an event's sends come from the worker, on the clock).
TIMERS = ("reminder", "timeout")


def fire_next(rt: Runtime, contact_id: int) -> str | None:
    """Make the person's next reminder or timeout happen now; returns its kind."""
    _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        item = due.next_timer(tx, contact_id, TIMERS)
        found = (item.id, item.kind) if item is not None else None
    if found is None:
        return None
    rt.conversations.fire(found[0], force=True)
    rt.dispatcher.flush(contact_id=contact_id)
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
        upcoming = due.next_timer(tx, contact_id, TIMERS)
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
            "next_due": None
            if upcoming is None
            else {"kind": upcoming.kind, "at": _iso(upcoming.due_at)},
        }


def _contact(rt: Runtime, contact_id: int) -> SimContact:
    with rt.db.transaction() as tx:
        found = tx.execute(
            select(Contact, ContactAddress.address)
            .join(ContactAddress, ContactAddress.contact_id == Contact.id)
            .where(Contact.id == contact_id, ContactAddress.scheme == SIM)
        ).first()
        if found is None:
            raise SimulatorError("no simulated contact with that id")
        contact, address = found
        return SimContact(contact.id, address, contact.first_name, contact.language)


def _iso(value: datetime) -> str:
    return value.isoformat()
