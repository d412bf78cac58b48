"""Conversations: every inbound message, start and timer, applied in one transaction.

For each trigger the service records what came in, runs the engine and applies its actions:
the message log, the answers, the session's new state, the outbox rows and the due work commit
together or not at all (design principle 2). The person's contact row is locked first, so two
messages from one person are handled one after the other, while different people proceed in
parallel (on SQLite every write transaction queues for the database lock instead). The store
functions on this path run prebuilt Core statements (``outreach.store.statements``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, Inbound
from outreach.channels.setup import make_channels
from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import CHANNEL_SCHEMES
from outreach.contacts.keywords import Keyword, Keywords, PossibleOptOut
from outreach.contacts.safeguarding import Concerns
from outreach.conversations import cutoff, places
from outreach.conversations.commands import Commands
from outreach.conversations.handoffs import hand_over, relay
from outreach.conversations.safeguarding import raise_concern
from outreach.conversations.sending import Queued, Sender
from outreach.conversations.writes import BatchWrites, Writes
from outreach.errors import ContactNotFound, FlowNotFound
from outreach.flows import state as engine_state
from outreach.flows.engine import Engine
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.settings import Settings
from outreach.store import contacts, due, handoffs, messages, opinions, rsvps, sessions
from outreach.store import events as stored_events
from outreach.store.contacts import CONTACT_COLUMNS, Person
from outreach.store.database import Database, unreachable
from outreach.store.sessions import SessionRow

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Received:
    """What became of an inbound message, and what was queued in answer (a channel that
    answers within the request, such as voice, can say it at once)."""

    status: Literal["processed", "duplicate", "stale"]  # stale: a button on an old question
    message_id: int
    contact_id: int
    queued: tuple[Queued, ...] = ()


@dataclass(frozen=True, slots=True)
class StartRequest:
    """A flow to start for a person: ``only_if`` lists the RSVPs they must still have for
    ``event_id`` (someone who said no since gets no reminder), ``expires_at`` ends the
    messages' useful life, and ``due_id`` is the due-work row that asked for it (deleted
    with the start, or when the start is no longer wanted)."""

    contact_id: int
    flow: str
    event_id: str | None = None
    only_if: Collection[str] | None = None
    expires_at: datetime | None = None
    due_id: int | None = None


@dataclass(slots=True)
class StartedBatch:
    """What became of a batch of starts, by due-work row: started, no longer wanted (void;
    both deleted), or failed (left for its lease to run out, then tried again)."""

    started: list[int] = field(default_factory=list)
    void: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    sessions: dict[int, int] = field(default_factory=dict)  # the conversation each person is in

    def __iadd__(self, other: StartedBatch) -> StartedBatch:
        self.started += other.started
        self.sessions |= other.sessions
        self.void += other.void
        self.failed += other.failed
        return self


# The actions of an outcome whose writes a batch can gather (a flow start's, nearly always).
_GATHERED_ACTIONS = (engine_state.SendMessage, engine_state.Schedule, engine_state.EndSession)


@dataclass(slots=True)
class _EventCache:
    """The events a transaction reads (fields, config), each read once however many
    people it handles."""

    connection: Connection
    fields: dict[str | None, Mapping[str, Any] | None] = field(default_factory=dict)
    configs: dict[str | None, Mapping[str, Any]] = field(default_factory=dict)

    def fields_of(self, event_id: str | None) -> Mapping[str, Any] | None:
        if event_id not in self.fields:
            self.fields[event_id] = stored_events.fields(self.connection, event_id)
        return self.fields[event_id]

    def config_of(self, event_id: str | None) -> Mapping[str, Any]:
        if event_id not in self.configs:
            self.configs[event_id] = stored_events.config(self.connection, event_id)
        return self.configs[event_id]


@dataclass(slots=True)
class _Turn:
    """One transaction's work for one person: what it has queued so far, where its writes
    go, and what a batch read for it beforehand (``tags``)."""

    tx: Session
    person: Person
    now: datetime
    queued: list[Queued] = field(default_factory=list)
    writes: Writes | None = None
    events: _EventCache | None = None
    tags: frozenset[str] | None = None
    session_id: int | None = None  # the conversation the engine's outcome was applied to
    connection: Connection = field(init=False)  # the transaction's, asked for once

    def __post_init__(self) -> None:
        if self.writes is None:
            self.writes = Writes(self.tx.connection())
        self.connection = self.writes.connection
        if self.events is None:
            self.events = _EventCache(self.connection)

    @property
    def write(self) -> Writes:
        assert self.writes is not None
        return self.writes

    @property
    def event_cache(self) -> _EventCache:
        assert self.events is not None
        return self.events


class Conversations:
    """Runs the engine against the store."""

    def __init__(
        self,
        db: Database,
        engine: Engine,
        *,
        settings: Settings,
        clock: Clock = utcnow,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.settings = settings
        self.clock = clock
        chosen = channels if channels is not None else make_channels(settings, engine.translate)
        self.sender = Sender(
            channels=chosen, flows=engine.flows, settings=settings, translate=engine.translate
        )
        self._rsvp_flows: dict[str, bool] = {}
        self.commands = Commands(
            sender=self.sender, language_flow=settings.language_flow, start_flow=self._keyword_flow
        )
        # STOP, HELP and the rest work in every language of the configured catalogs.
        vocabulary = engine.vocabulary
        if vocabulary.catalogs is None:
            vocabulary = Vocabulary(Catalogs(settings.locales_dir))
        self.keywords = Keywords(vocabulary)
        self.concerns = Concerns(vocabulary)

    # -- entry points --------------------------------------------------------------------------

    def receive(self, inbound: Inbound) -> Received:
        """Record and act on one inbound message; a repeat of a known provider id is not
        processed again."""
        inbound = _storable(inbound)
        try:
            with self.db.transaction() as tx:
                return self._find_duplicate(tx, inbound) or self._receive(tx, inbound)
        except IntegrityError:
            # Another delivery of the same webhook won the insert, or another first message
            # from a new person created their contact a moment ago: look again.
            with self.db.transaction() as tx:
                return self._find_duplicate(tx, inbound) or self._receive(tx, inbound)

    def receive_all(self, inbounds: Sequence[Inbound]) -> list[Received | Exception]:
        """Record and act on several inbound messages in one transaction (a group commit):
        one commit however many messages. A message that fails is
        lost alone: the batch is written again, each message in a savepoint of its own, and
        the failing one's error is returned in its place while the others commit. (Savepoints
        cost two statements a message, so they are only paid for once something failed.) An
        error that ends the transaction itself (the database went away) is raised: nothing
        of the batch is stored."""
        if len(inbounds) == 1:  # alone: its own transaction isolates it
            try:
                return [self.receive(inbounds[0])]
            except Exception as exc:
                if unreachable(exc):
                    raise
                return [exc]
        # People are locked in the order of their addresses, whichever writer has them, so
        # two batches holding the same two people cannot deadlock (one person's messages keep
        # the order they came in: the sort is stable).
        order = sorted(range(len(inbounds)), key=lambda i: (inbounds[i].scheme, inbounds[i].sender))
        ordered = [_storable(inbounds[i]) for i in order]
        try:
            # No look for a repeat first (a statement a message): a repeat's insert fails on
            # the provider id's unique key, and the batch written again finds it.
            with self.db.transaction() as tx:
                done: list[Received | Exception] = [self._receive(tx, i) for i in ordered]
        except Exception as exc:
            if unreachable(exc):
                raise
            with self.db.transaction() as tx:
                done = [self._receive_isolated(tx, inbound) for inbound in ordered]
        outcomes = dict(zip(order, done, strict=True))
        return [outcomes[i] for i in range(len(inbounds))]

    def _receive_isolated(self, tx: Session, inbound: Inbound) -> Received | Exception:
        """One message of a group commit, in its savepoint; looked at again after a conflict,
        as ``receive`` does (a new person's contact may have been created a moment ago)."""
        outcome = self._in_savepoint(tx, inbound)
        if isinstance(outcome, IntegrityError):
            outcome = self._in_savepoint(tx, inbound)
        return outcome

    def _in_savepoint(self, tx: Session, inbound: Inbound) -> Received | Exception:
        try:
            with tx.begin_nested():
                return self._find_duplicate(tx, inbound) or self._receive(tx, inbound)
        except Exception as exc:
            if unreachable(exc):
                raise
            return exc

    def start(
        self,
        contact_id: int,
        flow: str,
        *,
        event_id: str | None = None,
        only_if: Collection[str] | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Start ``flow`` for a contact (a coordinator's send, the simulator's "now"); see
        ``StartRequest``. False if nothing was started."""
        if flow not in self.engine.flows:
            raise FlowNotFound(flow, list(self.engine.flows))
        request = StartRequest(contact_id, flow, event_id, only_if, expires_at)
        with self.db.transaction() as tx:
            return bool(self._start_batch(tx, [request], isolate=False).started)

    def start_each(
        self,
        contact_ids: Sequence[int],
        flow: str,
        *,
        before: Callable[[Connection, Person, datetime], tuple[T, bool]],
        started: Callable[[Connection, int, int], None],
    ) -> dict[int, T]:
        """Start ``flow`` for each of ``contact_ids`` as part of a feature's own work for each
        person (a decision's message, then its follow-up), all in one transaction: ``before``
        runs under the person's lock, does that work and says what it did and whether to
        start; ``started`` is told each new conversation (person, conversation). Returns what
        ``before`` said of each person once it is stored (people gone are left out). If the
        batch cannot be stored, each person is done in a transaction of their own."""
        if flow not in self.engine.flows:
            raise FlowNotFound(flow, list(self.engine.flows))
        ids = list(dict.fromkeys(contact_ids))
        try:
            with self.db.transaction() as tx:
                return self._start_each(tx, ids, flow, before, started)
        except Exception:
            if len(ids) <= 1:
                raise
            log.warning("a batch of %d starts failed; starting each on its own", len(ids))
        said: dict[int, T] = {}
        for contact_id in ids:
            said |= self.start_each([contact_id], flow, before=before, started=started)
        return said

    def _start_each(
        self,
        tx: Session,
        contact_ids: Sequence[int],
        flow: str,
        before: Callable[[Connection, Person, datetime], tuple[T, bool]],
        started: Callable[[Connection, int, int], None],
    ) -> dict[int, T]:
        c = tx.connection()
        now = self.clock()
        people = contacts.lock_many(
            c, contact_ids, prefer=self._preferred(_EventCache(c), flow, None)
        )
        said: dict[int, T] = {}
        requests = []
        for contact_id in contact_ids:
            if (person := people.get(contact_id)) is None:
                continue
            said[contact_id], wanted = before(c, person, now)
            if wanted:
                requests.append(StartRequest(contact_id, flow))
        # The batch locks them again: held already, so a second read of the same rows.
        done = self._start_batch(tx, requests, isolate=False)
        for contact_id, session_id in done.sessions.items():
            started(c, contact_id, session_id)
        return said

    def start_due(self, due_ids: Sequence[int]) -> StartedBatch:
        """Start the flows a batch of ``start`` due-work rows ask for, in one transaction
        with one statement a table for the whole batch; each row goes in the transaction
        that did (or voided) its start, so each happens once however many workers claimed
        it. A person whose start fails is logged and left to be tried again (their row's
        lease runs out); if the batch cannot be stored, each row is tried on its own."""
        try:
            with self.db.transaction() as tx:
                return self._start_due(tx, due_ids)
        except Exception:
            if len(due_ids) == 1:
                raise
            log.warning("a batch of %d starts failed; starting each on its own", len(due_ids))
        result = StartedBatch()
        for due_id in due_ids:
            try:
                result += self.start_due([due_id])
            except Exception:  # one bad row must not stop the rest; its lease runs out
                log.exception("due work %s (start) failed; it will be tried again", due_id)
                result.failed.append(due_id)
        return result

    def _start_due(self, tx: Session, due_ids: Sequence[int]) -> StartedBatch:
        c = tx.connection()
        result = StartedBatch()
        requests = []
        for item in due.get_many(c, due_ids):  # rows gone were done meanwhile
            flow = item.payload.get("flow")
            if item.contact_id is None or flow not in self.engine.flows:
                log.error(
                    "due work %s asks for flow %r, which is not loaded; dropped", item.id, flow
                )
                result.void.append(item.id)
                continue
            requests.append(
                StartRequest(
                    item.contact_id,
                    flow,
                    item.event_id,
                    item.payload.get("to"),
                    item.expires_at,
                    due_id=item.id,
                )
            )
        # A person twice in a batch (an invitation and a change notice) is started in a
        # second round, once the first round's start is stored.
        while requests:
            seen: set[int] = set()
            first: list[StartRequest] = []
            later: list[StartRequest] = []
            for request in requests:
                (later if request.contact_id in seen else first).append(request)
                seen.add(request.contact_id)
            result += self._start_batch(tx, first, isolate=True)
            requests = later
        due.done_many(c, [*result.started, *result.void])
        return result

    def _start_batch(
        self, tx: Session, requests: Sequence[StartRequest], *, isolate: bool
    ) -> StartedBatch:
        """Start each request (one person each) in ``tx``: the people, their tags, their
        waiting conversations and the events read once for all of them, and the writes
        gathered and stored together. ``isolate``: a start that fails is logged and left
        out (the rest go on), instead of failing the transaction."""
        c = tx.connection()
        now = self.clock()
        events = _EventCache(c)
        writes, direct = BatchWrites(c), Writes(c)
        contact_ids = [r.contact_id for r in requests]
        people: dict[int, Person] = {}
        by_prefer: dict[tuple[str, ...], list[int]] = {}
        for r in requests:
            by_prefer.setdefault(self._preferred(events, r.flow, r.event_id), []).append(
                r.contact_id
            )
        for prefer, ids in by_prefer.items():
            people.update(contacts.lock_many(c, ids, prefer=prefer))
        tags = contacts.tags_of(c, contact_ids)
        waiting = sessions.waiting_many(c, contact_ids)
        rsvp = {
            event_id: rsvps.statuses(
                c, event_id, [r.contact_id for r in requests if r.event_id == event_id]
            )
            for event_id in {r.event_id for r in requests if r.only_if is not None and r.event_id}
        }
        result = StartedBatch()
        for r in requests:
            person = people.get(r.contact_id)
            if person is None and not isolate:
                raise ContactNotFound()
            if person is None or not self._wanted(r, person, rsvp, events, now):
                if r.due_id is not None:
                    result.void.append(r.due_id)
                continue
            tagged = frozenset(tags.get(person.id, ()))
            turn = _Turn(tx, person, now, writes=direct, events=events, tags=tagged)
            mark = writes.mark()
            try:
                self._start_one(turn, r, waiting.get(person.id), writes)
            except Exception:
                if not isolate:
                    raise
                log.exception("due work %s (start) failed; it will be tried again", r.due_id)
                writes.back_to(mark)
                result.failed.append(r.due_id or 0)
                continue
            result.started.append(r.due_id or 0)
            if turn.session_id is not None:
                result.sessions[person.id] = turn.session_id
        real = writes.flush()
        result.sessions = {person: real(i) for person, i in result.sessions.items()}
        return result

    def _wanted(
        self,
        request: StartRequest,
        person: Person,
        rsvp: Mapping[str, Mapping[int, str]],
        events: _EventCache,
        now: datetime,
    ) -> bool:
        """Whether the start is still wanted: the person has not opted out since a due row
        asked for it, it has not expired, they still have the RSVP it is for, and the event
        still takes replies to it."""
        r = request
        if r.due_id is not None and (
            person.opted_out or (r.expires_at is not None and r.expires_at <= now)
        ):
            return False
        if (
            r.only_if is not None
            and r.event_id is not None
            and rsvp[r.event_id].get(person.id) not in r.only_if
        ):
            return False
        event = events.fields_of(r.event_id)
        return event is None or not self._too_late(events, r.flow, r.event_id, event, now)

    def _start_one(
        self, turn: _Turn, request: StartRequest, current: SessionRow | None, batch: BatchWrites
    ) -> None:
        event = turn.event_cache.fields_of(request.event_id)
        trigger = engine_state.Start(
            flow=request.flow,
            at=turn.now,
            contact=self._engine_contact(turn),
            event=event,
            offers=self._offers(turn, [request.flow], request.event_id),
        )
        outcome = self.engine.handle(_engine_session(current), trigger)
        gathered = all(isinstance(a, _GATHERED_ACTIONS) for a in outcome.actions)
        if gathered:
            turn.writes = batch
        # Otherwise an answer, a tag or a handoff needs its session's id now: it is stored
        # at once, in a savepoint, so a failure leaves the batch as it was.
        with nullcontext() if gathered else turn.tx.begin_nested():
            self._apply(
                turn,
                current,
                outcome,
                request.event_id,
                event=event,
                initiated=True,
                expires_at=request.expires_at,
            )

    def fire(self, due_id: int, *, force: bool = False) -> bool:
        """Fire one reminder or timeout; False if it was already handled, is stale or (unless
        ``force``, as the simulator's "fire now" asks) is not due yet."""
        with self.db.transaction() as tx:
            c = tx.connection()
            item = due.get(c, due_id)
            if item is None or item.contact_id is None or item.session_id is None:
                return False
            turn = _Turn(tx, self._lock(tx, item.contact_id), self.clock())
            item = due.get(c, due_id)  # after the lock
            if item is None or (item.due_at > turn.now and not force):  # fired, or early
                return False
            due.done(c, due_id)
            row = sessions.by_id(c, item.session_id)
            if row is None or row.status != "waiting" or item.seq is None:
                return False
            state = _engine_session(row)
            prefer = self._preferred(turn.event_cache, state.flow if state else None, row.event_id)
            if prefer:  # the person is locked already: this only picks the address again
                turn.person = self._lock(tx, item.contact_id, prefer)
            self._fire_one(turn, item, row, state)
            return True

    def fire_due(self, due_ids: Sequence[int]) -> None:
        """Fire a batch of reminders and timeouts in one transaction: the people, their rows
        and their conversations read once for the batch, and the writes gathered and stored
        together, as ``start_due`` does. If the batch fails, each is fired in a transaction
        of its own, so one person never holds up the others."""
        try:
            with self.db.transaction() as tx:
                self._fire_due(tx, due_ids)
            return
        except Exception:
            if len(due_ids) == 1:
                raise
            log.warning("a batch of %d timers failed; firing each on its own", len(due_ids))
        for due_id in due_ids:
            try:
                self.fire(due_id)
            except Exception:  # one bad row must not stop the rest; its lease runs out
                log.exception("due work %s (timer) failed; it will be tried again", due_id)

    def _fire_due(self, tx: Session, due_ids: Sequence[int]) -> None:
        c = tx.connection()
        pending = list(due_ids)
        while pending:
            seen: set[int] = set()
            # A person with two timers in the batch has the second fired in a later round,
            # once the first one's writes are stored (it may have cancelled the second).
            firsts: dict[int, int] = {}
            later: list[int] = []
            for item in due.peek_many(c, pending):  # rows gone were done meanwhile
                if item.contact_id is None or item.session_id is None:
                    continue
                if item.contact_id in seen:
                    later.append(item.id)
                else:
                    firsts[item.id] = item.contact_id
                seen.add(item.contact_id)
            self._fire_round(tx, firsts)
            pending = later

    def _fire_round(self, tx: Session, people_of: Mapping[int, int]) -> None:
        """Fire the timers ``people_of`` names (due id -> contact), one per person."""
        c = tx.connection()
        now = self.clock()
        events = _EventCache(c)
        writes, direct = BatchWrites(c), Writes(c)
        # The people first, then their rows: the order a reply takes, so the two cannot
        # deadlock; early rows (the simulator moved a clock) wait for their time.
        people = contacts.lock_many(c, sorted(set(people_of.values())))
        items = [i for i in due.get_many(c, list(people_of)) if i.due_at <= now]
        due.done_many(c, [item.id for item in items])
        rows = sessions.by_ids(c, [item.session_id for item in items])
        fired = []
        by_prefer: dict[tuple[str, ...], list[int]] = {}
        for item in items:
            row = rows.get(item.session_id)
            if row is None or row.status != "waiting" or item.seq is None:
                continue
            state = _engine_session(row)
            fired.append((item, row, state))
            prefer = self._preferred(events, state.flow if state else None, row.event_id)
            if prefer:  # the people are locked already: this only picks their address again
                by_prefer.setdefault(prefer, []).append(item.contact_id)
        for prefer, ids in by_prefer.items():
            people.update(contacts.lock_many(c, ids, prefer=prefer))
        tags = contacts.tags_of(c, [item.contact_id for item, _, _ in fired])
        for item, row, state in fired:
            person = people.get(item.contact_id)
            if person is None:
                raise ContactNotFound()
            tagged = frozenset(tags.get(person.id, ()))
            turn = _Turn(tx, person, now, writes=direct, events=events, tags=tagged)
            self._fire_one(turn, item, row, state, batch=writes)
        writes.flush()

    def _fire_one(
        self,
        turn: _Turn,
        item: Any,
        row: SessionRow,
        state: engine_state.Session | None,
        *,
        batch: BatchWrites | None = None,
    ) -> None:
        """Fire the reminder or timeout ``item`` of the waiting conversation ``row``; its
        writes go to ``batch`` where they can wait for the batch's end."""
        event = turn.event_cache.fields_of(row.event_id)
        closes = cutoff.closes_at(event, state.started_at) if state is not None else None
        if closes is not None and (turn.now >= closes or item.due_at >= closes):
            self._close(turn, row)
            return
        if batch is not None:
            turn.writes = batch
        wanted = cutoff.remembered(item.payload)
        if wanted is not None:  # the event moved later: the flow's own timers stand again
            self._schedule(turn, row.id, item.seq, wanted, closes)
            return
        common: dict[str, Any] = {
            "at": turn.now,
            "contact": self._engine_contact(turn),
            "event": event,
            "offers": self._offers(turn, _flows_of(state), row.event_id),
        }
        trigger: engine_state.Trigger = (
            engine_state.ReminderDue(seq=item.seq, **common)
            if item.kind == "reminder"
            else engine_state.TimeoutDue(seq=item.seq, **common)
        )
        outcome = self.engine.handle(state, trigger)
        if not all(isinstance(a, _GATHERED_ACTIONS) for a in outcome.actions):
            turn.writes = Writes(turn.connection)  # an answer or a tag: stored at once
        self._apply(turn, row, outcome, row.event_id, event=event, initiated=True)

    # -- receiving -----------------------------------------------------------------------------

    def _find_duplicate(self, tx: Session, inbound: Inbound) -> Received | None:
        channel = self.sender.channel_name(inbound.scheme)
        found = messages.find_by_provider_id(tx.connection(), channel, inbound.provider_id)
        if found is None:
            return None
        return Received("duplicate", found.id, found.contact_id or 0)

    def _receive(self, tx: Session, inbound: Inbound) -> Received:
        turn = _Turn(tx, self._person_for(tx, inbound), self.clock())
        person, now, c = turn.person, turn.now, tx.connection()
        if person.address_id is not None and not person.created:
            # A new contact's one address is their first, which is where they are reached
            # until they write from another: nothing to record, no statement spent.
            contacts.replied_from(c, person.address_id, now)
        logged = {
            "contact_id": person.id,
            "address_id": person.address_id,
            "channel": self.sender.channel_name(inbound.scheme),
            "direction": "in",
            "provider_id": inbound.provider_id,
            "body": inbound.text,
            "kind": "reply",
            "status": "received",
            "status_history": [messages.entry("received", now)],
            "session_id": None,
            "created_at": now,
            "updated_at": now,
        }
        concern = self.concerns.find(inbound.text) if inbound.button is None else None
        if concern is not None:
            message_id = messages.log(c, logged)
            turn.queued.append(raise_concern(tx, self.sender, person, concern, message_id, now))
            return Received("processed", message_id, person.id, tuple(turn.queued))
        command = (
            self.keywords.classify(inbound.text, person.language)
            if inbound.button is None
            else None
        )
        if isinstance(command, Keyword) or person.opted_out:
            # Logged first, so the record reads in the order things happened.
            message_id = messages.log(c, logged)
            if isinstance(command, Keyword):
                turn.queued += self.commands.run(
                    tx, person, command, inbound.text, now, message_id=message_id
                )
            # else: recorded; nothing is said to someone who asked us to stop
            return Received("processed", message_id, person.id, tuple(turn.queued))

        talking = None if person.created else handoffs.talking(c, person.id)
        if talking is not None:
            # Someone from the team has the conversation: the message is theirs, not the flow's.
            message_id = messages.log(c, logged)
            relay(c, talking, message_id, now)
            return Received("processed", message_id, person.id)

        row = self._waiting_session(turn)
        state = _engine_session(row)
        if inbound.in_reply_to is not None and not _still_asking(
            c, inbound.in_reply_to, row, state
        ):
            # A button on a question answered or closed since: recorded, changes nothing.
            return Received("stale", messages.log(c, logged), person.id)
        event_id = row.event_id if row is not None else None
        event = stored_events.fields(c, event_id)
        closed = None
        if row is not None and state is not None and _closed(event, state, now):
            # The event has begun (or stopped taking replies): not an answer to go on with.
            closed = self._close(turn, row)
            row, state, event_id, event = None, None, None, None
        flows = [*_flows_of(state), self.engine.keyword_flow(inbound.text) or ""]
        common: dict[str, Any] = {
            "at": now,
            "contact": self._engine_contact(turn),
            "event": event,
            "offers": self._offers(turn, flows, event_id),
        }
        trigger: engine_state.Trigger = (
            engine_state.Button(value=inbound.button, **common)
            if inbound.button is not None
            else engine_state.Reply(text=inbound.text, **common)
        )
        outcome = self.engine.handle(state, trigger)
        inbound_id = self._apply(turn, row, outcome, event_id, event=event, inbound=logged)
        if not outcome.handled and closed is None:
            closed = self._closed_earlier(turn)
        if inbound_id is not None:
            message_id = inbound_id
        else:
            message_id = messages.log(c, {**logged, "session_id": closed.id if closed else None})
        flags = []
        if isinstance(command, PossibleOptOut):
            flags.append(
                (
                    "possible-opt-out",
                    f"the message contains {command.word!r}: check whether they want to stop",
                )
            )
        if not outcome.handled and closed is not None and self._tell_late(turn, closed):
            flags.append(("after-event", "a reply after the event stopped taking replies"))
        elif not outcome.handled:
            flags.append(("unhandled", "a message arrived with no conversation waiting for it"))
        already = handoffs.latest_open(c, person.id) if flags and not person.created else None
        if already is not None:
            flags = []  # one thread at a time: the message goes into the one already open
            relay(c, already, message_id, now)
        for reason, note in flags:
            hand_over(
                c,
                contact_id=person.id,
                message_id=message_id,
                reason=reason,
                note=note,
                now=now,
                session_id=row.id if row is not None else None,
                flow=state.flow if state is not None else None,
                step=state.step if state is not None else None,
            )
        return Received("processed", message_id, person.id, tuple(turn.queued))

    def _keyword_flow(self, tx: Session, person: Person, flow: str, now: datetime) -> None:
        """Start ``flow`` for the person in their transaction (LANG reopens the menu)."""
        if flow not in self.engine.flows:
            return
        turn = _Turn(tx, person, now)
        row = self._waiting_session(turn)
        offers = self._offers(turn, [flow], None)
        contact = self._engine_contact(turn)
        start = engine_state.Start(flow=flow, at=now, contact=contact, offers=offers)
        self._apply(turn, row, self.engine.handle(_engine_session(row), start), None)

    # -- applying the engine's actions ---------------------------------------------------------

    def _apply(
        self,
        turn: _Turn,
        row: SessionRow | None,
        outcome: engine_state.Outcome,
        event_id: str | None,
        *,
        event: Mapping[str, Any] | None = None,
        initiated: bool = False,
        expires_at: datetime | None = None,
        inbound: dict[str, Any] | None = None,
    ) -> int | None:
        """Apply ``outcome``; returns the inbound message's id, if one was handed in to log.
        ``inbound`` (the message that led to it) is logged with the session it ended up in,
        before anything is said in reply. ``event`` is the event the conversation is about
        (its fields): nothing of it is scheduled or worth sending past its close."""
        session = outcome.session
        if session is None:
            return None
        closes = cutoff.closes_at(event, session.started_at)
        if closes is not None and (expires_at is None or closes < expires_at):
            expires_at = closes
        tx, person, now, c = turn.tx, turn.person, turn.now, turn.connection
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
            final |= sessions.ended(session.end_reason or "ended", last.detail if last else "", now)
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
                turn.write.save_session(
                    row.id, sessions.ended("interrupted", ended.detail if ended else "", now)
                )
                turn.write.cancel_timers(row.id)
            session_event = event_id
            session_id = turn.write.create_session(
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
        turn.session_id = session_id
        inbound_id = messages.log(c, {**inbound, "session_id": session_id}) if inbound else None
        wanted: dict[str, datetime] = {}
        seq = None
        # What we start keeps the event's quiet hours, if it has its own.
        event_window = (
            turn.event_cache.config_of(session_event).get("quiet_hours") if initiated else None
        )
        for action in outcome.actions:
            if isinstance(action, engine_state.SendMessage):
                out = self.sender.outgoing(
                    person,
                    action.content,
                    now,
                    urgent=action.urgent,
                    flow=action.flow,
                    step=action.step,
                    session_id=session_id,
                    initiated=initiated,
                    expires_at=expires_at,
                    event_window=event_window,
                )
                turn.queued.append(out.queued(turn.write.queue(out.message, out.outbox)))
            elif isinstance(action, engine_state.SaveAnswer):
                sessions.save_answer(
                    c,
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
                _set_field(turn, action.name, action.value)
            elif isinstance(action, engine_state.AddTag):
                contacts.add_tag(c, person.id, action.tag)
            elif isinstance(action, engine_state.Schedule):
                wanted[action.kind], seq = action.due_at, action.seq
            elif isinstance(action, engine_state.Vote):
                opinions.vote(c, action.statement, person.id, action.vote, now)
            elif isinstance(action, engine_state.Propose):
                opinions.add(
                    c,
                    conversation=action.conversation,
                    text=action.text,
                    language=person.language,
                    now=now,
                    contact_id=person.id,
                )
            elif isinstance(action, engine_state.Handoff):
                hand_over(
                    c,
                    contact_id=person.id,
                    session_id=session_id,
                    message_id=inbound_id,
                    reason="handoff",
                    note=action.note,
                    team=action.team,
                    now=now,
                    flow=action.flow,
                    step=action.step,
                )
            elif (
                isinstance(action, engine_state.Rsvp)
                and session_event is not None
                and places.reply(tx, session_event, person.id, action.status, now)
            ):
                content = self.sender.system(person.language, places.WAITLISTED)
                turn.queued.append(self.sender.queue(c, person, content, now))
        if seq is not None:
            if not new:  # a new conversation has no timers to replace
                turn.write.cancel_timers(session_id)
            self._schedule(turn, session_id, seq, wanted, closes)
        if not new:
            turn.write.save_session(session_id, final)
        if not session.active and not new:
            turn.write.cancel_timers(session_id)
        return inbound_id

    def _schedule(
        self,
        turn: _Turn,
        session_id: int,
        seq: int,
        wanted: Mapping[str, datetime],
        closes: datetime | None,
    ) -> None:
        """The timers the flow wants, none past the conversation's close."""
        for kind, due_at, payload in cutoff.timers(wanted, closes):
            turn.write.schedule_timer(
                due.timer(
                    kind=kind,
                    contact_id=turn.person.id,
                    session_id=session_id,
                    seq=seq,
                    due_at=due_at,
                    now=turn.now,
                    payload=payload,
                )
            )

    # -- an event's close ----------------------------------------------------------------------

    def _too_late(
        self,
        events: _EventCache,
        flow: str,
        event_id: str | None,
        event: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Whether ``flow`` asks about coming to an event whose replies have closed: its
        invitation after ``rsvp_until``, any flow that records an RSVP after the start."""
        if now >= event["starts_at"] and self._records_rsvp(flow):
            return True
        return now >= event["rsvp_until"] and flow == events.config_of(event_id).get("invitation")

    def _records_rsvp(self, flow: str) -> bool:
        found = self._rsvp_flows.get(flow)
        if found is None:
            definition = self.engine.flows.get(flow)
            found = definition is not None and any(s.rsvp for s in definition.flow.steps)
            self._rsvp_flows[flow] = found
        return found

    def _close(self, turn: _Turn, row: SessionRow) -> SessionRow:
        """End a conversation quietly at its event's close; returns it as it now stands."""
        c = turn.connection
        values = sessions.ended(cutoff.END_REASON, "the event stopped taking replies", turn.now)
        state = _engine_session(row)
        if state is not None:
            ended = state.evolve(
                status="ended", wait=None, ended_at=turn.now, end_reason=cutoff.END_REASON
            )
            values["state"] = ended.to_json()
        sessions.save(c, row.id, values)
        due.cancel_timers(c, row.id)
        return SessionRow(row.id, "ended", row.event_id, values.get("state"), cutoff.END_REASON)

    def _closed_earlier(self, turn: _Turn) -> SessionRow | None:
        """The person's last conversation, if its event closed it."""
        if turn.person.created:
            return None
        last = sessions.latest(turn.connection, turn.person.id)
        return last if last is not None and last.end_reason == cutoff.END_REASON else None

    def _tell_late(self, turn: _Turn, closed: SessionRow) -> bool:
        """Tell someone replying to a closed conversation why it cannot go on (once per
        conversation: the answer is its only system message); False if they were told."""
        c = turn.connection
        event = stored_events.fields(c, closed.event_id)
        if event is None or messages.said_in(c, closed.id, "system"):
            return False
        person = turn.person
        template, values = cutoff.late_notice(event, turn.now)
        content = self.sender.system(
            person.language, template, timezone=person.timezone, values=values
        )
        turn.queued.append(self.sender.queue(c, person, content, turn.now, session_id=closed.id))
        return True

    def _answer_kind(self, flow: str, step: str) -> str:
        definition = self.engine.flows.get(flow)
        found = definition.steps.get(step) if definition else None
        return found.ask.kind if found is not None and found.ask is not None else "text"

    # -- loading -------------------------------------------------------------------------------

    def _lock(self, tx: Session, contact_id: int, prefer: tuple[str, ...] = ()) -> Person:
        person = contacts.lock(tx.connection(), contact_id, prefer=prefer)
        if person is None:
            raise ContactNotFound()
        return person

    def _preferred(
        self, events: _EventCache, flow: str | None, event_id: str | None
    ) -> tuple[str, ...]:
        """The address schemes what ``flow`` (for ``event_id``) sends should go to: the flow's
        ``channel``, else the event's, else none (where the person last replied)."""
        definition = self.engine.flows.get(flow) if flow else None
        channel = definition.flow.channel if definition is not None else None
        if channel is None and event_id is not None:
            channel = events.config_of(event_id).get("channel")
        return CHANNEL_SCHEMES.get(channel, ()) if channel else ()

    def _person_for(self, tx: Session, inbound: Inbound) -> Person:
        """The sender's contact, locked; created (with a consent record) if new."""
        c = tx.connection()
        person = contacts.lock_by_address(c, inbound.scheme, inbound.sender)
        if person is not None:
            return person
        now = self.clock()
        return contacts.create(
            c,
            inbound.scheme,
            inbound.sender,
            {
                "language": self.settings.default_language,
                "timezone": self.settings.default_timezone,
                "fields": {},
                "opted_out": False,
                "created_at": now,
                "updated_at": now,
            },
            {"status": "opted_in", "source": "inbound", "words": "they texted us first", "at": now},
        )

    def _waiting_session(self, turn: _Turn) -> SessionRow | None:
        if turn.person.created:
            return None
        return sessions.waiting(turn.connection, turn.person.id)

    def _offers(
        self, turn: _Turn, flows: Collection[str], event_id: str | None
    ) -> Mapping[str, tuple[engine_state.Offer, ...]]:
        """The statements to offer the person next, in each statements conversation these
        flows may show (none read for flows without statements steps)."""
        keys = self.engine.conversations(flows, event_id)
        if not keys:
            return engine_state.NO_OFFERS
        c, person = turn.connection, turn.person
        return {key: opinions.offers(c, key, person.id, person.language) for key in keys}

    def _engine_contact(self, turn: _Turn) -> engine_state.Contact:
        person = turn.person
        tags = turn.tags
        if tags is None:
            tags = frozenset() if person.created else contacts.tags(turn.connection, person.id)
        fields = {**person.fields, "first_name": person.first_name, "last_name": person.last_name}
        return engine_state.Contact(
            language=person.language, timezone=person.timezone, fields=fields, tags=tags
        )


def _storable(inbound: Inbound) -> Inbound:
    """PostgreSQL cannot store NUL in text; a message is never lost for one."""
    if "\x00" in inbound.text or "\x00" in inbound.provider_id:
        return replace(
            inbound,
            text=inbound.text.replace("\x00", "\ufffd"),
            provider_id=inbound.provider_id.replace("\x00", "\ufffd"),
        )
    return inbound


def _engine_session(row: SessionRow | None) -> engine_state.Session | None:
    """The engine's session from its stored row (None if there is none or it was erased)."""
    if row is None or row.state is None:
        return None
    return engine_state.Session.from_json(row.state)


def _flows_of(session: engine_state.Session | None) -> list[str]:
    """The flows a session is in: its own and those it will return to."""
    if session is None or not session.active:
        return []
    return [session.flow, *(frame.flow for frame in session.stack)]


def _still_asking(
    c: Connection, message_id: int, row: SessionRow | None, session: engine_state.Session | None
) -> bool:
    """Whether the question of message ``message_id`` is the one the person's conversation
    is waiting on now."""
    asked = messages.asked(c, message_id)
    return (
        asked is not None
        and row is not None
        and session is not None
        and asked.direction == "out"
        and asked.session_id == row.id
        and asked.step == session.step
    )


def _closed(event: Mapping[str, Any] | None, session: engine_state.Session, now: datetime) -> bool:
    """Whether the event has closed the conversation by ``now``."""
    closes = cutoff.closes_at(event, session.started_at)
    return closes is not None and now >= closes


def _set_field(turn: _Turn, name: str, value: Any) -> None:
    person = turn.person
    if name in CONTACT_COLUMNS:
        text = str(value) if value is not None else None
        setattr(person, name, text)
        changes: dict[str, Any] = {name: text}
    else:
        person.fields = {**person.fields, name: value}
        changes = {"fields": person.fields}
    contacts.update_contact(turn.connection, person.id, {**changes, "updated_at": turn.now})
