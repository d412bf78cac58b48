"""Conversations: every inbound message, start and timer, applied in one transaction.

For each event the service records what came in, runs the engine and applies its actions: the
message log, the answers, the session's new state, the outbox rows and the due work commit
together or not at all (design principle 2). The person's contact row is locked first, so two
messages from one person are handled one after the other, while different people proceed in
parallel (on SQLite every write transaction queues for the database lock instead). The
statements run on every message are prebuilt Core statements (``outreach.store.statements``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.contacts.keywords import Keyword, PossibleOptOut, classify
from outreach.contacts.quiet_hours import QuietHours
from outreach.errors import ContactNotFound, FlowNotFound
from outreach.flows import state as engine_state
from outreach.flows.engine import Engine
from outreach.flows.templates import render
from outreach.i18n.catalogs import N_
from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import count_segments
from outreach.settings import Settings
from outreach.store import statements as sql
from outreach.store.consent import Source, Status, log_consent
from outreach.store.database import Database
from outreach.store.models import Contact, DueWork, Event, Message, OutboxItem, Rsvp
from outreach.store.statements import CONTACT_COLUMNS, Person, SessionRow, insert_row

log = logging.getLogger(__name__)

OPTED_OUT = N_("You won't get any more messages from {org}. Reply START if you change your mind.")
OPTED_IN = N_("Welcome back: you will get messages from {org} again. Reply STOP to stop.")
HELP = N_(
    "This is {org}, about Big Conversation events. Reply STOP to stop messages. Help: {help}."
)

ALPHANUMERIC_FOOTER = N_("To stop these messages: {how}")
WAITLISTED = N_(
    "Thank you! The Big Conversation is full, so you are on the waiting list. "
    "We will text you if a place comes free."
)

# RSVPs that hold one of an event's places.
HOLDING = ("yes", "offered")


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from a person, as any channel hands it over."""

    channel: str  # sms | slack | simulator
    sender: str  # E.164 phone number (sms, simulator) or Slack user id (slack)
    text: str
    provider_id: str  # the channel's own id for the message, for de-duplication
    button: str | None = None  # the option key of a pressed button (Slack)


@dataclass(frozen=True, slots=True)
class Received:
    """What became of an inbound message."""

    status: Literal["processed", "duplicate"]
    message_id: int
    contact_id: int


class Applied(NamedTuple):
    """Where an outcome was applied: its session, and the inbound message's id if logged."""

    session_id: int
    inbound_id: int | None


class Conversations:
    """Runs the engine against the store."""

    def __init__(
        self, db: Database, engine: Engine, *, settings: Settings, clock: Clock = utcnow
    ) -> None:
        self.db = db
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.quiet_hours = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)

    # -- entry points --------------------------------------------------------------------------

    def receive(self, inbound: Inbound) -> Received:
        """Record and act on one inbound message; a repeat of a known provider id is not
        processed again."""
        try:
            with self.db.transaction() as tx:
                return self._find_duplicate(tx, inbound) or self._receive(tx, inbound)
        except IntegrityError:
            # The same webhook, delivered twice at once: the other delivery won the insert.
            with self.db.transaction() as tx:
                duplicate = self._find_duplicate(tx, inbound)
            if duplicate is None:
                raise
            return duplicate

    def start(
        self,
        contact_id: int,
        flow: str,
        *,
        event_id: str | None = None,
        due_id: int | None = None,
        only_if: Collection[str] | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Start ``flow`` for a contact (an invitation, a reminder, a coordinator's send).

        ``due_id`` is the due-work row that asked for it: it is deleted in the same
        transaction, so the start happens once however many workers claimed it. ``only_if``
        lists the RSVPs the person must still have (someone who said no since gets no
        reminder), and ``expires_at`` ends the messages' useful life. False if nothing was
        started.
        """
        if flow not in self.engine.flows:
            raise FlowNotFound(flow, list(self.engine.flows))
        with self.db.transaction() as tx:
            c = tx.connection()
            person = self._lock(tx, contact_id)
            now = self.clock()
            if due_id is not None:
                item = c.execute(sql.DUE_ITEM, {"due_id": due_id}).first()
                if item is None:
                    return False  # done meanwhile
                c.execute(sql.DELETE_DUE, {"due_id": due_id})
                if person.opted_out or (item.expires_at is not None and item.expires_at <= now):
                    return False
            if only_if is not None and event_id is not None:
                status = tx.scalar(
                    select(Rsvp.status).where(
                        Rsvp.event_id == event_id, Rsvp.contact_id == person.id
                    )
                )
                if status not in only_if:
                    return False
            current = self._waiting_session(tx, person)
            event = engine_state.Start(
                flow=flow,
                at=now,
                contact=self._engine_contact(tx, person),
                event=self._event_fields(tx, event_id),
            )
            outcome = self.engine.handle(_engine_session(current), event)
            self._apply(
                tx, person, current, outcome, now, event_id, initiated=True, expires_at=expires_at
            )
            return True

    def fire(self, due_id: int, *, force: bool = False) -> bool:
        """Fire one reminder or timeout; False if it was already handled, is stale or (unless
        ``force``, as the simulator's "fire now" asks) is not due yet."""
        with self.db.transaction() as tx:
            c = tx.connection()
            item = c.execute(sql.DUE_ITEM, {"due_id": due_id}).first()
            if item is None or item.contact_id is None or item.session_id is None:
                return False
            person = self._lock(tx, item.contact_id)
            item = c.execute(sql.DUE_ITEM, {"due_id": due_id}).first()  # after the lock
            now = self.clock()
            if item is None or (item.due_at > now and not force):  # fired meanwhile, or early
                return False
            c.execute(sql.DELETE_DUE, {"due_id": due_id})
            found = c.execute(sql.SESSION_BY_ID, {"session_id": item.session_id}).first()
            if found is None or found.status != "waiting" or item.seq is None:
                return False
            row = SessionRow(*found)
            common: dict[str, Any] = {
                "at": now,
                "contact": self._engine_contact(tx, person),
                "event": self._event_fields(tx, row.event_id),
            }
            event: engine_state.Event = (
                engine_state.ReminderDue(seq=item.seq, **common)
                if item.kind == "reminder"
                else engine_state.TimeoutDue(seq=item.seq, **common)
            )
            outcome = self.engine.handle(_engine_session(row), event)
            self._apply(tx, person, row, outcome, now, row.event_id, initiated=True)
            return True

    # -- receiving -----------------------------------------------------------------------------

    def _find_duplicate(self, tx: Session, inbound: Inbound) -> Received | None:
        found = (
            tx.connection()
            .execute(
                sql.MESSAGE_BY_PROVIDER_ID,
                {"channel": inbound.channel, "provider_id": inbound.provider_id},
            )
            .first()
        )
        if found is None:
            return None
        return Received("duplicate", found.id, found.contact_id or 0)

    def _receive(self, tx: Session, inbound: Inbound) -> Received:
        now = self.clock()
        person = self._person_for(tx, inbound, now)
        logged = {
            "contact_id": person.id,
            "channel": inbound.channel,
            "direction": "in",
            "provider_id": inbound.provider_id,
            "body": inbound.text,
            "kind": "reply",
            "status": "received",
            "status_history": [{"status": "received", "at": now.isoformat()}],
            "session_id": None,
            "created_at": now,
            "updated_at": now,
        }
        command = classify(inbound.text) if inbound.button is None else None
        if isinstance(command, Keyword) or person.opted_out:
            # Logged first, so the record reads in the order things happened.
            message_id = insert_row(tx.connection(), "messages", logged)
            if isinstance(command, Keyword):
                self._keyword(tx, person, command, inbound.text, now)
            # else: recorded; nothing is said to someone who asked us to stop
            return Received("processed", message_id, person.id)

        row = self._waiting_session(tx, person)
        event_id = row.event_id if row is not None else None
        common: dict[str, Any] = {
            "at": now,
            "contact": self._engine_contact(tx, person),
            "event": self._event_fields(tx, event_id),
        }
        event: engine_state.Event = (
            engine_state.Button(value=inbound.button, **common)
            if inbound.button is not None
            else engine_state.Reply(text=inbound.text, **common)
        )
        outcome = self.engine.handle(_engine_session(row), event)
        applied = self._apply(tx, person, row, outcome, now, event_id, inbound=logged)
        if applied is not None and applied.inbound_id is not None:
            message_id = applied.inbound_id
        else:
            message_id = insert_row(tx.connection(), "messages", logged)
        done = Received("processed", message_id, person.id)
        flags = []
        if isinstance(command, PossibleOptOut):
            flags.append(
                (
                    "possible-opt-out",
                    f"the message contains {command.word!r}: check whether they want to stop",
                )
            )
        if not outcome.handled:
            flags.append(("unhandled", "a message arrived with no conversation waiting for it"))
        for reason, note in flags:
            insert_row(
                tx.connection(),
                "handoffs",
                {
                    "contact_id": person.id,
                    "message_id": message_id,
                    "reason": reason,
                    "note": note,
                    "status": "open",
                    "created_at": now,
                },
            )
        return done

    def _keyword(
        self, tx: Session, person: Person, keyword: Keyword, text: str, now: datetime
    ) -> None:
        if keyword.command == "stop":
            if self._consent(tx, person, "opted_out", source="keyword", words=text, at=now):
                self._stop_everything(tx, person, now)
                self._system_message(tx, person, OPTED_OUT, now, consent_exempt=True)
        elif keyword.command == "start":
            if self._consent(tx, person, "opted_in", source="keyword", words=text, at=now):
                self._system_message(tx, person, OPTED_IN, now)
        elif keyword.command == "help":
            self._system_message(tx, person, HELP, now, consent_exempt=True)
        elif not person.opted_out:  # lang
            flow = self.settings.language_flow
            if flow in self.engine.flows:
                row = self._waiting_session(tx, person)
                start = engine_state.Start(
                    flow=flow, at=now, contact=self._engine_contact(tx, person)
                )
                outcome = self.engine.handle(_engine_session(row), start)
                self._apply(tx, person, row, outcome, now, None)

    def _consent(
        self,
        tx: Session,
        person: Person,
        status: Status,
        *,
        source: Source,
        words: str | None,
        at: datetime,
    ) -> bool:
        """Append a consent event and keep the contact's copy in step; True if it changed
        the person's state."""
        opted_out = status == "opted_out"
        changed = person.opted_out != opted_out
        log_consent(tx.connection(), person.id, status, source=source, words=words, at=at)
        if changed:
            tx.connection().execute(
                sql.SET_CONSENT, {"contact_id": person.id, "opted_out": opted_out, "at": at}
            )
            person.opted_out = opted_out
        return changed

    def _stop_everything(self, tx: Session, person: Person, now: datetime) -> None:
        """After an opt-out: end the conversation, cancel queued messages and timers."""
        row = self._waiting_session(tx, person)
        if row is not None:
            sql.update_session(
                tx.connection(), row.id, _ended("opted-out", "the person opted out", now)
            )
        # Rows already being sent are left to their sender: it records what happened.
        waiting = (OutboxItem.contact_id == person.id) & (OutboxItem.state == "queued")
        queued = select(OutboxItem.message_id).where(waiting)
        tx.execute(
            update(Message).where(Message.id.in_(queued)).values(status="cancelled", updated_at=now)
        )
        tx.execute(delete(OutboxItem).where(waiting))
        tx.execute(delete(DueWork).where(DueWork.contact_id == person.id))
        give_up_places(tx, person.id, now)

    def _system_message(
        self,
        tx: Session,
        person: Person,
        template: str,
        now: datetime,
        *,
        consent_exempt: bool = False,
    ) -> None:
        text = self._system_text(person, template)
        self._queue(tx, person, text, "system", now, consent_exempt=consent_exempt)

    def _system_text(self, person: Person, template: str) -> str:
        translated = self.engine.translate(person.language, template)
        values = {
            "org": self.settings.org_name,
            "help": self.settings.help_contact,
            "how": self.settings.alphanumeric_opt_out,
        }
        return sanitize_sms(render(translated, lambda p: values.get(p.name), lambda v, f: str(v)))

    # -- applying the engine's actions ---------------------------------------------------------

    def _apply(
        self,
        tx: Session,
        person: Person,
        row: SessionRow | None,
        outcome: engine_state.Outcome,
        now: datetime,
        event_id: str | None,
        *,
        initiated: bool = False,
        expires_at: datetime | None = None,
        inbound: dict[str, Any] | None = None,
    ) -> Applied | None:
        """Apply ``outcome``; returns the session it ended up in. ``inbound`` (the message
        that led to it) is logged with that session, before anything is said in reply."""
        session = outcome.session
        if session is None:
            return None
        c = tx.connection()
        final: dict[str, Any] = {
            "flow": session.flow,
            "flow_version": session.version,
            "status": session.status,
            "step": session.step,
            "state": session.to_json(),
            "updated_at": now,
        }
        if not session.active:
            last = next(
                (a for a in reversed(outcome.actions) if isinstance(a, engine_state.EndSession)),
                None,
            )
            final |= _ended(session.end_reason or "ended", last.detail if last else "", now)
        new = outcome.started or row is None
        if new:
            if row is not None and row.status == "waiting":
                ended = next(
                    (
                        a
                        for a in outcome.actions
                        if isinstance(a, engine_state.EndSession) and a.reason == "interrupted"
                    ),
                    None,
                )
                sql.update_session(
                    c, row.id, _ended("interrupted", ended.detail if ended else "", now)
                )
                c.execute(sql.DELETE_SESSION_DUE, {"session_id": row.id})
            session_event = event_id
            session_id = insert_row(
                c,
                "sessions",
                {
                    **final,
                    "contact_id": person.id,
                    "event_id": event_id,
                    "started_at": session.started_at,
                },
            )
        else:
            assert row is not None
            session_id, session_event = row.id, row.event_id
        inbound_id = (
            insert_row(c, "messages", {**inbound, "session_id": session_id}) if inbound else None
        )
        rescheduled = new  # a new conversation has no timers to replace
        # What we start keeps the event's quiet hours, if it has its own.
        event_window = (
            self._event_config(tx, session_event).get("quiet_hours") if initiated else None
        )
        for action in outcome.actions:
            if isinstance(action, engine_state.SendMessage):
                self._queue(
                    tx,
                    person,
                    action.text,
                    action.kind,
                    now,
                    urgent=action.urgent,
                    flow=action.flow,
                    step=action.step,
                    session_id=session_id,
                    initiated=initiated,
                    expires_at=expires_at,
                    event_window=event_window,
                )
            elif isinstance(action, engine_state.SaveAnswer):
                insert_row(
                    c,
                    "answers",
                    {
                        "contact_id": person.id,
                        "session_id": session_id,
                        "event_id": session_event,
                        "flow": action.flow,
                        "step": action.step,
                        "name": action.name,
                        "kind": self._answer_kind(action.flow, action.step),
                        "raw": action.raw,
                        "value": action.value,
                        "language": person.language,
                        "at": now,
                    },
                )
            elif isinstance(action, engine_state.SetField):
                _set_field(tx, person, action.name, action.value, now)
            elif isinstance(action, engine_state.AddTag):
                sql.add_tag(c, person.id, action.tag)
            elif isinstance(action, engine_state.Schedule):
                if not rescheduled:
                    c.execute(sql.DELETE_SESSION_DUE, {"session_id": session_id})
                    rescheduled = True
                insert_row(
                    c,
                    "due_work",
                    {
                        "kind": action.kind,
                        "contact_id": person.id,
                        "session_id": session_id,
                        "seq": action.seq,
                        "due_at": action.due_at,
                        "payload": {},
                        "created_at": now,
                    },
                )
            elif isinstance(action, engine_state.Handoff):
                insert_row(
                    c,
                    "handoffs",
                    {
                        "contact_id": person.id,
                        "session_id": session_id,
                        "reason": "handoff",
                        "note": action.note,
                        "team": action.team,
                        "status": "open",
                        "created_at": now,
                    },
                )
            elif isinstance(action, engine_state.Rsvp) and session_event is not None:
                self._rsvp(tx, session_event, person, action.status, now)
        if not new:
            sql.update_session(c, session_id, final)
        if not session.active and not new:
            c.execute(sql.DELETE_SESSION_DUE, {"session_id": session_id})
        return Applied(session_id, inbound_id)

    def _queue(
        self,
        tx: Session,
        person: Person,
        text: str,
        kind: str,
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
    ) -> None:
        """Log an outgoing message and queue it, unless the person may not be sent it."""
        channel = person.channel
        if channel == "sms" and self.settings.alphanumeric_sender:
            # Nobody can reply STOP to a sender ID: every message says how else to stop.
            text = f"{text}\n{self._system_text(person, ALPHANUMERIC_FOOTER)}"
        not_before = now
        # What we start waits for the day to begin where the person is; made-up people of
        # the phone simulator are rehearsals, at any hour.
        if initiated and not urgent and channel != "simulator":
            window = self._window(flow, event_window)
            not_before = window.next_allowed(now, person.timezone)
        count = count_segments(text)
        refused = (person.opted_out and not consent_exempt) or person.erased_at is not None
        status = "suppressed" if refused else "queued"
        sql.queue_message(
            tx.connection(),
            {
                "contact_id": person.id,
                "channel": channel,
                "direction": "out",
                "body": text,
                "kind": kind,
                "status": status,
                "status_history": [{"status": status, "at": now.isoformat()}],
                "encoding": count.encoding,
                "segments": count.segments,
                "flow": flow,
                "step": step,
                "session_id": session_id,
                "created_at": now,
                "updated_at": now,
            },
            None
            if refused
            else {
                "contact_id": person.id,
                "channel": channel,
                "urgent": urgent,
                "consent_exempt": consent_exempt,
                "state": "queued",
                "not_before": not_before,
                "expires_at": expires_at,
                "attempts": 0,
                "created_at": now,
            },
        )

    def _window(self, flow: str | None, event_window: Mapping[str, str] | None) -> QuietHours:
        """The flow's own quiet hours, else the event's, else the default."""
        definition = self.engine.flows.get(flow) if flow else None
        window = definition.flow.quiet_hours if definition else None
        if window is not None:
            return QuietHours(window.start, window.end)
        if event_window:
            return QuietHours(
                time.fromisoformat(event_window["start"]), time.fromisoformat(event_window["end"])
            )
        return self.quiet_hours

    def _rsvp(self, tx: Session, event_id: str, person: Person, status: str, now: datetime) -> None:
        """Record an RSVP. A yes to a full event joins the waiting list (and is told so); a
        place given up is offered to the next person waiting."""
        event = tx.get(Event, event_id, with_for_update=True)  # one place-counter at a time
        if event is None:
            return
        found = tx.scalar(
            select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == person.id)
        )
        before = found.status if found is not None else None
        if status == "yes" and before not in HOLDING and self._full(tx, event):
            status = "waitlist"
            if before != "waitlist":
                self._system_message(tx, person, WAITLISTED, now)
        if found is None:
            tx.add(Rsvp(event_id=event_id, contact_id=person.id, status=status, updated_at=now))
        elif found.status != status:
            found.status = status
            found.updated_at = now  # the waiting list's order: when they joined it
        if before in HOLDING and status not in HOLDING:
            tx.flush()
            offer_next_place(tx, event, now)

    def _full(self, tx: Session, event: Event) -> bool:
        if event.capacity is None:
            return False
        taken = tx.scalar(
            select(func.count())
            .select_from(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.status.in_(HOLDING))
        )
        return (taken or 0) >= event.capacity

    def _answer_kind(self, flow: str, step: str) -> str:
        definition = self.engine.flows.get(flow)
        found = definition.steps.get(step) if definition else None
        return found.ask.kind if found is not None and found.ask is not None else "text"

    # -- loading -------------------------------------------------------------------------------

    def _lock(self, tx: Session, contact_id: int) -> Person:
        person = sql.lock_person(tx.connection(), "id", contact_id)
        if person is None:
            raise ContactNotFound()
        return person

    def _person_for(self, tx: Session, inbound: Inbound, now: datetime) -> Person:
        """The sender's contact, locked; created (with a consent record) if new."""
        by = "phone" if inbound.channel != "slack" else "slack_user_id"
        c = tx.connection()
        person = sql.lock_person(c, by, inbound.sender)
        if person is not None:
            return person
        person = sql.create_person(
            c,
            by,
            {
                by: inbound.sender,
                "channel": inbound.channel,
                "language": self.settings.default_language,
                "timezone": self.settings.default_timezone,
                "fields": {},
                "opted_out": False,
                "created_at": now,
                "updated_at": now,
            },
            {"status": "opted_in", "source": "inbound", "words": "they texted us first", "at": now},
        )
        if person is None:  # another message from them created it a moment ago
            person = sql.lock_person(c, by, inbound.sender)
            assert person is not None
        return person

    def _waiting_session(self, tx: Session, person: Person) -> SessionRow | None:
        if person.created:
            return None
        found = tx.connection().execute(sql.WAITING_SESSION, {"contact_id": person.id}).first()
        return SessionRow(*found) if found is not None else None

    def _engine_contact(self, tx: Session, person: Person) -> engine_state.Contact:
        tags = (
            frozenset()
            if person.created
            else frozenset(tx.connection().execute(sql.TAGS, {"contact_id": person.id}).scalars())
        )
        fields = {**person.fields, "first_name": person.first_name, "last_name": person.last_name}
        return engine_state.Contact(
            language=person.language, timezone=person.timezone, fields=fields, tags=tags
        )

    def _event_config(self, tx: Session, event_id: str | None) -> Mapping[str, Any]:
        if event_id is None:
            return {}
        found = tx.connection().execute(sql.EVENT, {"event_id": event_id}).first()
        return found.config if found is not None else {}

    def _event_fields(self, tx: Session, event_id: str | None) -> Mapping[str, Any] | None:
        if event_id is None:
            return None
        c = tx.connection()
        found = c.execute(sql.EVENT, {"event_id": event_id}).first()
        if found is None:
            return None
        places_left = None
        if found.capacity is not None:
            taken = c.execute(sql.PLACES_TAKEN, {"event_id": event_id}).scalar_one()
            places_left = max(0, found.capacity - taken)
        return {
            **found.details,
            "title": found.title,
            "starts_at": found.starts_at,
            "ends_at": found.ends_at,
            "capacity": found.capacity,
            "places_left": places_left,
            "full": places_left == 0,
        }


def give_up_places(tx: Session, contact_id: int, now: datetime) -> None:
    """Someone who opted out or was erased is not coming: their places at events go to the
    people waiting for one."""
    places = tx.scalars(
        select(Rsvp).where(Rsvp.contact_id == contact_id, Rsvp.status.in_(HOLDING))
    ).all()
    for place in places:
        place.status = "no"
        place.updated_at = now
        tx.flush()
        event = tx.get(Event, place.event_id, with_for_update=True)
        if event is not None:
            offer_next_place(tx, event, now)


def offer_next_place(tx: Session, event: Event, now: datetime) -> int | None:
    """Offer a freed place to the first person on the waiting list (who has not opted out):
    hold it for them and schedule the event's place-offer flow. Returns their contact id."""
    if event.starts_at <= now:
        return None  # too late to offer anything
    waiting = tx.execute(
        select(Rsvp)
        .join(Contact, Contact.id == Rsvp.contact_id)
        .where(Rsvp.event_id == event.id, Rsvp.status == "waitlist", Contact.opted_out.is_(False))
        .order_by(Rsvp.updated_at, Rsvp.id)
        .limit(1)
    ).scalar_one_or_none()
    if waiting is None:
        return None
    waiting.status = "offered"
    waiting.updated_at = now
    insert_row(
        tx.connection(),
        "due_work",
        {
            "kind": "start",
            "contact_id": waiting.contact_id,
            "event_id": event.id,
            "payload": {
                "flow": event.config.get("place_offer", "event-place-offer"),
                "to": ["offered"],
                "what": "offer",
            },
            "due_at": now,
            "expires_at": event.starts_at,
            "created_at": now,
        },
    )
    return waiting.contact_id


def _engine_session(row: SessionRow | None) -> engine_state.Session | None:
    """The engine's session from its stored row (None if there is none or it was erased)."""
    if row is None or row.state is None:
        return None
    return engine_state.Session.from_json(row.state)


def _set_field(tx: Session, person: Person, name: str, value: Any, now: datetime) -> None:
    if name in CONTACT_COLUMNS:
        text = str(value) if value is not None else None
        setattr(person, name, text)
        changes: dict[str, Any] = {name: text}
    else:
        person.fields = {**person.fields, name: value}
        changes = {"fields": person.fields}
    sql.update_contact(tx.connection(), person.id, {**changes, "updated_at": now})


def _ended(reason: str, detail: str, now: datetime) -> dict[str, Any]:
    """A session's columns once it has ended."""
    return {
        "status": "ended",
        "end_reason": reason,
        "end_detail": detail or None,
        "ended_at": now,
        "updated_at": now,
        "step": None,
    }
