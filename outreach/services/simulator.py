"""The phone simulator's use cases: made-up people texting Outreach from a browser.

Simulated people are reached at ``sim`` addresses, served by the simulator channel, so whatever
is configured for real SMS their messages never leave the building; everything else (engine,
store, outbox, consent, segments) is the code real messages go through. A made-up number later
imported as a real person's becomes a ``tel`` address, and real SMS follow.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.channels.base import Inbound
from outreach.contacts.addresses import SIM, TEL
from outreach.contacts.phones import normalize_phone
from outreach.content import Content
from outreach.conversations import cutoff
from outreach.errors import SimulatorError
from outreach.i18n.locales import text_direction
from outreach.services.runtime import Runtime
from outreach.store import contacts, due
from outreach.store.models import (
    Contact,
    ContactAddress,
    ConversationSession,
    DueWork,
    Event,
    Message,
    Rsvp,
)


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
    if not rt.conversations.start(contact_id, flow, event_id=event_id):
        raise SimulatorError(
            f"{flow} was not started: it asks about coming to the next event, "
            "which no longer takes replies"
        )
    rt.dispatcher.flush(contact_id=contact_id)


# A conversation's own timers, and the sends that start a flow (an event's, or one person's).
TIMERS = ("reminder", "timeout")
STARTS = ("start", "event")
# An event send's ``what``, as a coordinator says it.
SENDS = {
    "invite": "the invitation",
    "offer": "the offer of a freed place",
    "changed": "the news that the event changed",
    "follow-up": "the event's follow-up",
}
# Why a conversation ended, in words (the engine's and the service's end reasons).
ENDINGS = {
    "completed": "it reached its end",
    "expired": "no answer came in time",
    "interrupted": "another conversation took its place",
    cutoff.END_REASON: "the event it was about stopped taking replies",
    "opted-out": "the person texted STOP",
    "no-valid-answer": "no answer could be understood",
    "flow-changed": "the flow was changed and its step is gone",
    "flow-removed": "the flow was removed",
    "erased": "the person's data was erased",
    "runaway": "the flow went round in a loop",
    "missing-step": "a step it needed is missing",
    "missing-flow": "a flow it starts is missing",
}


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The next thing due for a person, and what it is in words."""

    due_id: int
    kind: str  # reminder | timeout | start | event
    at: datetime
    what: str


@dataclass(frozen=True, slots=True)
class Fired:
    """What "make it happen now" did, said for the coordinator (``kind`` None: nothing)."""

    kind: str | None
    message: str


def fire_next(rt: Runtime, contact_id: int) -> Fired:
    """Make the person's next reminder, timeout or event send happen now, and say what it
    did. An event's send (a reminder for everyone coming) is done for this person only, and
    left out for them when it goes to the rest."""
    contact = _contact(rt, contact_id)
    with rt.db.transaction() as tx:
        upcoming = _upcoming(tx, contact_id, rt.clock())
        before = _last_message(tx, contact_id)
    if upcoming is None:
        return Fired(None, f"Nothing is waiting to happen for {_name(contact)}.")
    if upcoming.kind in TIMERS:
        done = rt.conversations.fire(upcoming.due_id, force=True)
    elif upcoming.kind == "start":
        done = rt.events.start(upcoming.due_id)
    else:
        done = _event_send_for(rt, upcoming.due_id, contact_id)
    rt.dispatcher.flush(contact_id=contact_id)
    with rt.db.transaction() as tx:
        sent = _sent_since(tx, contact_id, before)
    said = _capitalised(upcoming.what)
    if not done:
        return Fired(upcoming.kind, f"{said} was no longer needed: nothing was sent.")
    count = f"{sent} message{'' if sent == 1 else 's'} sent" if sent else "nothing was sent"
    return Fired(upcoming.kind, f"{said} happened now: {count}.")


def _event_send_for(rt: Runtime, due_id: int, contact_id: int) -> bool:
    with rt.db.transaction() as tx:
        item = tx.get(DueWork, due_id)
        if item is None or not due.done_early_for(tx, due_id, contact_id):
            return False
        flow, to = item.payload["flow"], item.payload.get("to")
        event_id, expires_at = item.event_id, item.expires_at
    return rt.conversations.start(
        contact_id, flow, event_id=event_id, only_if=to, expires_at=expires_at
    )


def _upcoming(tx: Session, contact_id: int, now: datetime) -> Upcoming | None:
    """The person's next due thing that will really happen: a timer of their conversation,
    a flow about to start for them, or an event's send that will reach them."""
    found: list[Upcoming] = []
    own = tx.scalars(
        select(DueWork)
        .where(DueWork.contact_id == contact_id, DueWork.kind.in_((*TIMERS, "start")))
        .order_by(DueWork.due_at, DueWork.id)
    )
    for item in own:
        if item.expires_at is not None and item.expires_at <= max(now, item.due_at):
            continue  # it would be dropped, not done
        found.append(Upcoming(item.id, item.kind, item.due_at, _what(item)))
        break
    sends = tx.execute(
        select(DueWork, Rsvp.status)
        .join(Rsvp, (Rsvp.event_id == DueWork.event_id) & (Rsvp.contact_id == contact_id))
        .where(DueWork.kind == "event")
        .order_by(DueWork.due_at, DueWork.id)
    ).all()
    for item, status in sends:
        if (
            status in item.payload.get("to", ())
            and contact_id not in item.payload.get(due.DONE_FOR, ())
            and (item.expires_at is None or item.expires_at > max(now, item.due_at))
        ):
            found.append(Upcoming(item.id, item.kind, item.due_at, _what(item)))
            break
    return min(found, key=lambda u: u.at, default=None)


def _what(item: DueWork) -> str:
    payload = item.payload
    if item.kind == "reminder":
        return "a reminder of the question waiting for an answer"
    if item.kind == "timeout":
        if cutoff.remembered(payload) is not None:
            return "the conversation closes, as its event stops taking replies then"
        return "no answer in time: the conversation goes on as its flow says"
    what = str(payload.get("what", ""))
    name = SENDS.get(what, "the event's reminder" if what.startswith("reminder-") else "")
    return f"{name or 'the flow'} ({payload.get('flow')})"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _name(contact: SimContact) -> str:
    return contact.first_name or contact.phone


def _last_message(tx: Session, contact_id: int) -> int:
    return tx.scalar(select(func.max(Message.id)).where(Message.contact_id == contact_id)) or 0


def _sent_since(tx: Session, contact_id: int, message_id: int) -> int:
    return (
        tx.scalar(
            select(func.count()).where(
                Message.contact_id == contact_id,
                Message.direction == "out",
                Message.status != "suppressed",
                Message.id > message_id,
            )
        )
        or 0
    )


def conversation(rt: Runtime, contact_id: int) -> dict[str, Any]:
    """What the phone shows: the messages, where the conversation stands in words, and what
    will happen next (only if it really will)."""
    contact = _contact(rt, contact_id)
    language = {"lang": contact.language, "dir": text_direction(contact.language)}
    with rt.db.transaction() as tx:
        messages = tx.scalars(
            select(Message).where(Message.contact_id == contact_id).order_by(Message.id)
        ).all()
        session = tx.scalar(
            select(ConversationSession)
            .where(ConversationSession.contact_id == contact_id)
            .order_by(ConversationSession.id.desc())
        )
        upcoming = _upcoming(tx, contact_id, rt.clock())
        return {
            "contact": {
                "id": contact.id,
                "phone": contact.phone,
                "first_name": contact.first_name,
                "language": contact.language,
                "dir": language["dir"],
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
                    # What the person reads and writes is in their language (the page is not).
                    **language,
                }
                for m in messages
            ],
            "session": None
            if session is None
            else {
                "flow": session.flow,
                "status": session.status,
                "end_reason": session.end_reason,
                **_summary(session, messages),
            },
            "next_due": None
            if upcoming is None
            else {"kind": upcoming.kind, "at": _iso(upcoming.at), "what": upcoming.what},
        }


def _summary(session: ConversationSession, messages: Sequence[Message]) -> dict[str, Any]:
    """Where the conversation stands, as a coordinator reads it: the ``question`` waited on
    (in the person's language), or why it ended; never the flow's internal step names."""
    if session.status != "waiting":
        why = ENDINGS.get(session.end_reason or "", session.end_reason or "it ended")
        return {"summary": f"{session.flow} ended: {why}.", "question": None}
    asked = next(
        (
            m
            for m in reversed(messages)
            if m.session_id == session.id and m.direction == "out" and m.kind == "question"
        ),
        None,
    )
    if asked is None:
        return {"summary": f"{session.flow} is waiting for an answer.", "question": None}
    text = Content.from_json(asked.content).text if asked.content else (asked.body or "")
    return {
        "summary": f"{session.flow} is waiting for an answer to:",
        "question": " ".join(text.split()),
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
