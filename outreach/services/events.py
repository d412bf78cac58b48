"""Big Conversation events: from the coordinator's files to invitations, reminders and
follow-ups sent to the right people at the right time.

The files are the truth for what an event is; ``sync`` mirrors them into the store, where
RSVPs and reports join them, and schedules one ``event`` due-work row for each send (the
invitations, each reminder, the follow-up). When that row is due, ``expand`` turns it into one
``start`` row per person in a single set-based statement (a million people is one INSERT, not
a million round trips); the worker then starts the flow for each, a batch at a time, with the
same transaction rules as every other conversation. Which sends are done is recorded with a
unique run key, so each happens once even with many workers, and again only if the event moves.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import ColumnElement, and_, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import TEL
from outreach.conversations.service import Conversations
from outreach.errors import EventClosed, EventNotFound, FlowLoadError
from outreach.events.library import EventDefinition
from outreach.events.schema import (
    AUDIENCE_COLUMNS,
    FOLLOW_UP_LIFE,
    Audience,
    EventSpec,
    english_text,
)
from outreach.flows import state as engine_state
from outreach.flows.engine import Engine
from outreach.scheduling.periodic import PeriodicJob
from outreach.settings import Settings
from outreach.store import due, rsvps, runs
from outreach.store import events as stored_events
from outreach.store.database import Database
from outreach.store.models import Answer, Contact, ContactAddress, ContactTag, DueWork, Rsvp

log = logging.getLogger(__name__)

# Replies to the access question that mean "nothing needed".
NO_NEEDS = {"none", "no", "nothing", "n/a", "na", "nope", "no thanks", "-"}


@dataclass(frozen=True)
class InvitePlan:
    """What ``invite`` would do: who, in which languages, how long, at what cost."""

    event_id: str
    people: int
    by_language: dict[str, int]
    segments: int
    cost: float
    currency: str


@dataclass(frozen=True)
class Invitee:
    """One person ``invite`` would invite: personal data, for the coordinator's eyes."""

    first_name: str | None
    language: str
    address: str | None  # their number (or other address) messages would go to


@dataclass(frozen=True)
class EventSummary:
    """An event as a coordinator reads it: the numbers, and what is still to be sent."""

    id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    venue: str
    rsvps: dict[str, int]
    access_needs: int
    upcoming: list[tuple[datetime, str]] = field(default_factory=list)
    in_files: bool = True  # False: only the store knows it (the demo's, or a file removed)

    @property
    def invited(self) -> int:
        return sum(self.rsvps.values())


class Events:
    """Events from the files, their invitations, reminders and follow-ups."""

    def __init__(
        self,
        db: Database,
        conversations: Conversations,
        definitions: Mapping[str, EventDefinition],
        *,
        settings: Settings,
        clock: Clock = utcnow,
        source: Callable[[], Mapping[str, EventDefinition]] | None = None,
    ) -> None:
        self.db = db
        self.conversations = conversations
        self.definitions = dict(definitions)
        self.settings = settings
        self.clock = clock
        self.source = source  # reads the files again (the worker does, every minute)
        self._added: dict[str, EventDefinition] = {}

    def add(self, definition: EventDefinition) -> None:
        """An event that is not in the files (the demo's), kept across reloads."""
        self._added[definition.id] = definition
        self.definitions[definition.id] = definition

    def reload(self) -> None:
        """Read the event files again; files with errors leave the last good events in
        place, and the errors are logged for the coordinator to fix."""
        if self.source is None:
            return
        try:
            loaded = self.source()
        except FlowLoadError as exc:
            log.error("the event files have problems; still using the last good ones:\n%s", exc)
            return
        self.definitions = {**loaded, **self._added}

    def sync_job(self) -> PeriodicJob:
        """Every minute: pick up events added or moved in the files (a moved event tells the
        people coming)."""
        return PeriodicJob("events", IntervalTrigger(minutes=1), self.refresh)

    def refresh(self) -> list[str]:
        """Read the files again and mirror them; returns the ids of events that moved."""
        self.reload()
        return self.sync()

    @property
    def engine(self) -> Engine:
        return self.conversations.engine

    def _languages(self) -> list[str]:
        """The languages an event's texts are prepared in: every catalog's."""
        return self.engine.vocabulary.languages()

    # -- from the files to the store -----------------------------------------------------------

    def sync(self) -> list[str]:
        """Mirror the event files into the store and schedule their sends; an event whose
        time changed tells the people coming. Returns the ids of events that moved."""
        moved = []
        for definition in self.definitions.values():
            if self._sync_one(definition.spec):
                moved.append(definition.id)
        return moved

    def _sync_one(self, spec: EventSpec) -> bool:
        try:
            return self._mirror_one(spec)
        except IntegrityError:
            # Another worker, started at the same moment, stored this new event (or one of
            # its sends) first: look again, now that it is there.
            return self._mirror_one(spec)

    def _mirror_one(self, spec: EventSpec) -> bool:
        now = self.clock()
        with self.db.transaction() as tx:
            values = {
                "title": spec.title,
                "starts_at": spec.starts_utc,
                "ends_at": spec.ends_utc,
                "timezone": spec.timezone,
                "capacity": spec.capacity,
                "details": spec.details(self.engine.translate, self._languages()),
                "config": _config(spec),
            }
            moved = stored_events.mirror(tx, spec.event, values, now)
            if moved:
                # What was scheduled for the old time is void; it is scheduled again below.
                due.cancel_timed_sends(tx, spec.event)
                self._fan_out(
                    tx, spec.event, "changed", spec.changed, rsvps.HOLDING, now, spec.ends_utc
                )
                log.info("event %s moved: the people coming are told", spec.event)
            self._schedule(tx, spec, now)
            return moved

    def _schedule(self, tx: Session, spec: EventSpec, now: datetime) -> None:
        """One ``event`` row for each send not done yet and still worth doing."""
        pending = due.pending_event_sends(tx, spec.event)
        done = runs.done(tx, "event", f"{spec.event}/")
        for key, what, send, due_at, life in _sends(spec):
            if key in pending or key in done or life <= now:
                continue
            due.schedule_event_send(
                tx,
                spec.event,
                {"key": key, "what": what, **send},
                due_at=max(due_at, now),
                expires_at=life,
                now=now,
            )

    # -- invitations ---------------------------------------------------------------------------

    def plan(self, event_id: str) -> InvitePlan:
        """What inviting now would do (``outreach events invite --dry-run``)."""
        spec = self._open_spec(event_id)
        with self.db.transaction() as tx:
            name_length = func.length(Contact.first_name)
            groups = tx.execute(
                select(Contact.language, name_length, func.count())
                .where(_new_invitees(spec))
                .group_by(Contact.language, name_length)
            ).all()
            event_fields = stored_events.fields(tx.connection(), event_id) or spec.fields(
                self.engine.translate, self._languages()
            )
        by_language: Counter[str] = Counter()
        segments = 0
        for language, name_length, count in groups:
            by_language[language] += count
            segments += count * self._invitation_segments(spec, language, name_length, event_fields)
        return InvitePlan(
            event_id=event_id,
            people=sum(by_language.values()),
            by_language=dict(sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0]))),
            segments=segments,
            cost=round(segments * self.settings.sms_price_per_segment, 2),
            currency=self.settings.sms_currency,
        )

    def invitees(self, event_id: str) -> list[Invitee]:
        """Who inviting now would invite (``outreach events invite --dry-run --list``)."""
        spec = self._spec(event_id)
        address = (
            select(ContactAddress.address)
            .where(ContactAddress.contact_id == Contact.id, ContactAddress.undeliverable.is_(None))
            .order_by(ContactAddress.id)
            .limit(1)
            .scalar_subquery()
        )
        with self.db.transaction() as tx:
            rows = tx.execute(
                select(Contact.first_name, Contact.language, address)
                .where(_new_invitees(spec))
                .order_by(Contact.id)
            ).all()
        return [Invitee(first_name, language, found) for first_name, language, found in rows]

    def _invitation_segments(
        self, spec: EventSpec, language: str, name_length: int, event: Mapping[str, Any]
    ) -> int:
        """Segments of the messages the invitation sends first, for one kind of person."""
        now = self.clock()
        contact = engine_state.Contact(
            language=language,
            timezone=spec.timezone,
            fields={"first_name": "A" * name_length if name_length else None},
            tags=frozenset(),
        )
        start = engine_state.Start(flow=spec.invitation, at=now, contact=contact, event=event)
        outcome = self.engine.handle(None, start)
        sender = self.conversations.sender
        return sum(
            sender.render(TEL, message.content, language).segments or 1
            for message in outcome.messages()
        )

    def invite(self, event_id: str) -> int:
        """Invite everyone in the audience not yet invited; returns how many. The flows start
        from the worker, a batch at a time, at the provider's pace."""
        spec = self._open_spec(event_id)
        self._sync_one(spec)
        with self.db.transaction() as tx:
            return self._invite(tx, spec, self.clock())

    def _invite(self, tx: Session, spec: EventSpec, now: datetime) -> int:
        added = rsvps.invite(tx, spec.event, select(Contact.id).where(_new_invitees(spec)), now)
        if not added:
            return 0
        invited = select(
            literal("start"),
            rsvps.rsvps.c.contact_id,
            literal(spec.event),
            literal({"flow": spec.invitation, "what": "invite"}, DueWork.payload.type),
            literal(now, DueWork.due_at.type),
            literal(spec.rsvp_closes_utc, DueWork.expires_at.type),
            literal(now, DueWork.created_at.type),
        ).where(rsvps.invited_at(spec.event, now))
        due.fan_out(tx, invited)
        log.info("event %s: %d people invited", spec.event, added)
        return added

    # -- due work ------------------------------------------------------------------------------

    def expand(self, due_id: int) -> int:
        """Fan an ``event`` row out into one start per person; returns how many. Done once:
        the run key is unique, and the row goes in the same transaction."""
        now = self.clock()
        with self.db.transaction() as tx:
            item = tx.get(DueWork, due_id, populate_existing=True)
            if item is None or item.event_id is None:
                return 0
            tx.delete(item)
            spec = self._spec_or_none(item.event_id)
            if spec is None or (item.expires_at is not None and item.expires_at <= now):
                return 0
            key = str(item.payload["key"])
            if not runs.claim(tx, "event", key, worker="events", now=now):
                return 0
            if item.payload["what"] == "invite":
                return self._invite(tx, spec, now)
            life = item.expires_at or spec.starts_utc
            payload = item.payload
            return self._fan_out(
                tx,
                spec.event,
                payload["what"],
                payload["flow"],
                payload["to"],
                now,
                life,
                done_for=payload.get(due.DONE_FOR, ()),
            )

    def start(self, due_id: int) -> bool:
        """Start the flow a ``start`` row asks for, if it is still wanted."""
        return bool(self.start_batch([due_id]))

    def start_batch(self, due_ids: Sequence[int]) -> list[int]:
        """Start the flows a batch of ``start`` rows ask for (those still wanted), in one
        transaction; returns the rows started."""
        return self.conversations.start_due(due_ids).started

    def _fan_out(
        self,
        tx: Session,
        event_id: str,
        what: str,
        flow: str,
        to: Sequence[str],
        now: datetime,
        expires_at: datetime,
        *,
        done_for: Sequence[int] = (),
    ) -> int:
        """One ``start`` row for each person whose RSVP is in ``to`` and who has not opted
        out (and was not sent it early by the phone simulator: ``done_for``), in one
        statement."""
        chosen = (
            select(
                literal("start"),
                Rsvp.contact_id,
                literal(event_id),
                literal({"flow": flow, "to": list(to), "what": what}, DueWork.payload.type),
                literal(now, DueWork.due_at.type),
                literal(expires_at, DueWork.expires_at.type),
                literal(now, DueWork.created_at.type),
            )
            .join(Contact, Contact.id == Rsvp.contact_id)
            .where(
                Rsvp.event_id == event_id,
                Rsvp.status.in_(to),
                Contact.opted_out.is_(False),
                Contact.erased_at.is_(None),
            )
        )
        if done_for:
            chosen = chosen.where(Rsvp.contact_id.not_in(list(done_for)))
        count = due.fan_out(tx, chosen)
        log.info("event %s: %s started for %d people", event_id, flow, count)
        return count

    # -- reading -------------------------------------------------------------------------------

    def summaries(self) -> list[EventSummary]:
        """Every event, soonest first: those in the files, then those only the store knows
        (the demo's event, or one whose file was removed), so their RSVPs stay in view."""
        with self.db.transaction() as tx:
            only_stored = [e.id for e in stored_events.stored(tx) if e.id not in self.definitions]
        found = [self.summary(event_id) for event_id in [*self.definitions, *only_stored]]
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    def summary(self, event_id: str) -> EventSummary:
        spec = self._spec_or_none(event_id)
        with self.db.transaction() as tx:
            if spec is None:
                found = stored_events.stored(tx, event_id)
                if not found:
                    known = [*self.definitions, *(e.id for e in stored_events.stored(tx))]
                    raise EventNotFound(event_id, sorted(set(known)))
                event = found[0]
                about = (event.title, event.starts_at, event.ends_at, event.timezone)
                capacity, venue = event.capacity, english_text(event.details.get("venue", ""))
            else:
                about = (spec.title, spec.starts_utc, spec.ends_utc, spec.timezone)
                capacity, venue = spec.capacity, english_text(spec.venue.name)
            counts = rsvps.counts(tx, event_id)
            needs = tx.scalars(
                select(Answer.value).where(
                    Answer.event_id == event_id, Answer.name == "access_needs"
                )
            ).all()
            upcoming = due.upcoming_event_sends(tx, event_id)
        title, starts_at, ends_at, timezone = about
        return EventSummary(
            id=event_id,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=timezone,
            capacity=capacity,
            venue=venue,
            rsvps=counts,
            access_needs=sum(1 for v in needs if str(v).strip().lower() not in NO_NEEDS),
            upcoming=upcoming,
            in_files=spec is not None,
        )

    def _spec(self, event_id: str) -> EventSpec:
        spec = self._spec_or_none(event_id)
        if spec is None:
            with self.db.transaction() as tx:
                stored = bool(stored_events.stored(tx, event_id))
            raise EventNotFound(event_id, list(self.definitions), only_stored=stored)
        return spec

    def _open_spec(self, event_id: str) -> EventSpec:
        """The event, if it still takes replies: inviting after that would only count
        people as invited."""
        spec = self._spec(event_id)
        if self.clock() >= spec.rsvp_closes_utc:
            closed = spec.rsvp_closes_utc.astimezone(spec.zone)
            raise EventClosed(event_id, f"{closed:%a %d %b %Y %H:%M}")
        return spec

    def _spec_or_none(self, event_id: str) -> EventSpec | None:
        definition = self.definitions.get(event_id)
        return definition.spec if definition is not None else None


def _sends(spec: EventSpec) -> list[tuple[str, str, dict[str, Any], datetime, datetime]]:
    """Each timed send of an event: (run key, what, the send, due at, useful until). The key
    holds the start time, so a moved event sends its reminders again for the new time."""
    starts = spec.starts_utc
    stamp = starts.strftime("%Y%m%dT%H%M")
    out: list[tuple[str, str, dict[str, Any], datetime, datetime]] = []
    if spec.invite_at is not None:
        out.append(
            (
                f"{spec.event}/invite/{stamp}",
                "invite",
                {},
                starts + spec.invite_at,
                spec.rsvp_closes_utc,
            )
        )
    for kind, index, send in spec.schedule():
        due = starts + send.at
        default_life = starts if kind == "reminder" else due + FOLLOW_UP_LIFE
        life = due + send.useful_for if send.useful_for is not None else default_life
        what = f"{kind}-{index + 1}" if kind == "reminder" else kind
        payload = {"flow": send.flow, "to": list(send.to)}
        out.append((f"{spec.event}/{what}/{stamp}", what, payload, due, life))
    return out


def _new_invitees(spec: EventSpec) -> ColumnElement[bool]:
    """Contacts in the audience who may be texted and have no RSVP for the event yet."""
    return and_(
        audience_filter(spec.audience),
        ~exists().where(Rsvp.event_id == spec.event, Rsvp.contact_id == Contact.id),
    )


def audience_filter(audience: Audience) -> ColumnElement[bool]:
    """The contacts an audience means, among those who may be texted at all."""
    conditions: list[ColumnElement[bool]] = [
        Contact.opted_out.is_(False),
        Contact.erased_at.is_(None),
        exists().where(
            ContactAddress.contact_id == Contact.id, ContactAddress.undeliverable.is_(None)
        ),
    ]
    if audience.tags:
        conditions.append(
            exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag.in_(audience.tags))
        )
    if audience.exclude_tags:
        conditions.append(
            ~exists().where(
                ContactTag.contact_id == Contact.id, ContactTag.tag.in_(audience.exclude_tags)
            )
        )
    for name, values in audience.where.items():
        column = (
            getattr(Contact, name) if name in AUDIENCE_COLUMNS else Contact.fields[name].as_string()
        )
        conditions.append(column.in_(values))
    return and_(*conditions)


def _config(spec: EventSpec) -> dict[str, Any]:
    quiet = spec.quiet_hours
    return {
        "place_offer": spec.place_offer,
        "changed": spec.changed,
        "invitation": spec.invitation,
        "channel": spec.channel,
        "rsvp_until": spec.rsvp_until.total_seconds() if spec.rsvp_until is not None else None,
        "quiet_hours": (
            {"start": quiet.start.isoformat(), "end": quiet.end.isoformat()} if quiet else None
        ),
    }
