"""The dispatcher: sends what is in the outbox at the rate allowed, and records what became of it.

Each message is sent in three steps: claim it (a committed change to ``sending``, with a
lease) and check it again (consent, useful life) on its locked person, send it with no
transaction open, then record the outcome. The bookkeeping is done for many messages at once,
in Core statements run once for the lot: one transaction claims and checks a tenth of a
second's sends at the configured rate (``claim``), taken when fewer than two claims' worth
are waiting, so consent is checked at most about 0.2 s before a message goes; the outcomes
that come back within 50 ms of each other are recorded together. The channel is the one
serving the scheme of the address the message goes to, looked up at the moment of sending. A
process that dies between the first and the last step leaves the row in ``sending``: it is
reconciled later, never sent again blindly. What each outcome writes is
``outreach.store.messages``'s business; what it means (retry when, give up when, what it
says about the contact) is decided here.

A flush runs on an event loop of its own (``asyncio.run``): sends are coroutines, so enough
of them are in flight to hide the provider's latency at the configured rate (a thousand a
second at 20 ms is twenty at once) without a thread each; claims and records run in a thread
each beside the loop, so sending never waits for the database. A worker holds at most
``batch`` rows claimed and not yet recorded (so a worker killed mid-flush leaves at most
``batch`` rows to reconcile). One person's messages go one after another in the order they
were queued (an invitation before its question), however many other people's are in flight.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, DeliveryReport, Outgoing, SendResult
from outreach.clock import Clock, utcnow
from outreach.content import Content
from outreach.store import consent
from outreach.store import contacts as stored_contacts
from outreach.store import messages as stored_messages
from outreach.store.database import Database
from outreach.store.messages import STATUS_RANK, Outcome, entry
from outreach.store.models import Contact, Message

log = logging.getLogger(__name__)

FINAL_FAILURES = ("undelivered", "failed")
# How long finished sends wait for others before their outcomes are recorded together: at a
# thousand a second, a transaction for fifty, instead of one each. A commit on PostgreSQL
# waits for the disk (8 ms on the project's machine): per message, that would cap the rate.
RECORD_EVERY = 0.05

MAX_IN_FLIGHT = 250  # unless told otherwise: a connection each, to the provider

T = TypeVar("T")


@dataclass
class FlushReport:
    """How a flush went, by outcome."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        if not self.counts:
            return "nothing to send"
        return ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.counts.items()))


class Limiter(Protocol):
    """A send rate shared by every worker: this worker takes its turns from slots it has
    reserved in the store (``outreach.scheduling.rate_limits``), on its ``clock``."""

    clock: Clock

    def take(self) -> datetime | None:
        """The time of this worker's next slot, taken; None when it has none left."""
        ...

    def refill(self) -> None:
        """Reserve more slots for this worker (a database transaction: not on the loop)."""
        ...

    def running_low(self) -> bool:
        """True when it is time to reserve more, so that sends never wait for it."""
        ...


@dataclass(frozen=True, slots=True)
class _Send:
    """A claimed message, checked and ready to go."""

    item_id: int
    person: int
    address_id: int
    attempts: int
    expires_at: datetime | None
    channel: Channel | None
    scheme: str
    outgoing: Outgoing


class Dispatcher:
    """Sends queued messages through the channels, a batch of bookkeeping at a time."""

    def __init__(
        self,
        db: Database,
        channels: Iterable[Channel] | Mapping[str, Channel],
        *,
        clock: Clock = utcnow,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=15),
        max_backoff: timedelta = timedelta(hours=1),
        jitter: Callable[[], float] = random.random,
        lease: timedelta = timedelta(minutes=2),
        name: str | None = None,
        batch: int = 50,
        claim: int | None = None,
        rate_limits: Mapping[str, Sequence[Limiter]] | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.db = db
        found = channels.values() if isinstance(channels, Mapping) else channels
        self.channels = {channel.scheme: channel for channel in found}  # by address scheme
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.lease = lease  # longer than a row stays claimed: past it, the sender has died
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch  # rows claimed and not yet recorded, at most, per flush
        # rows claimed at a time, when fewer than twice that wait to be sent: a tenth of a
        # second's sends at the rate, so consent is checked at most about 0.2 s before a
        # message goes
        self.claim_size = min(claim or batch, batch)
        self.rate_limits = dict(rate_limits or {})  # by scheme: each must allow a send
        # sends in flight at once: enough for a thousand a second through Twilio's latency
        self.concurrency = concurrency or min(batch, MAX_IN_FLIGHT)
        self._stopping = threading.Event()

    def flush(self, *, limit: int | None = None, contact_id: int | None = None) -> FlushReport:
        """Send every message due now (or ``limit`` of them), oldest first, claiming them a
        batch at a time so that several workers share the outbox without sending twice."""
        return asyncio.run(_Flush(self, limit=limit, contact_id=contact_id).run())

    def claim(
        self, size: int, *, contact_id: int | None = None, item_id: int | None = None
    ) -> list[int]:
        """Claim up to ``size`` due rows (``sending``, with a lease) and check them, in one
        transaction; returns the ids of those to be sent."""
        found = self._claim_and_check(size, contact_id=contact_id, item_id=item_id)
        return [] if found is None else [send.item_id for send in found[1]]

    def stop(self) -> None:
        """Stop claiming; a flush under way finishes the sends in flight and hands back the
        rest of what it claimed (for a graceful shutdown)."""
        self._stopping.set()

    def reconcile(self) -> int:
        """Settle messages left in ``sending`` by a sender that stopped (a crash, a kill).

        Whether the provider got them cannot be known without their id, so they are marked
        ``unknown`` and reported, never sent again blindly: a person could get them twice.
        """
        now = self.clock()
        why = "the sender stopped while sending; not resent"
        with self.db.transaction() as tx:
            connection = tx.connection()
            stuck = stored_messages.lapsed(connection, now)
            outcomes = [
                Outcome(item, message, "unknown", entry("unknown", now, detail=why))
                for item, message in stuck
            ]
            stored_messages.settle(connection, outcomes, now, worker=None)
        for _, message in stuck:
            log.error("message %s was being sent when its sender stopped; not resent", message)
        return len(stuck)

    def record_delivery(self, channel: str, report: DeliveryReport) -> bool:
        """Record a provider's delivery report; False if it matches no message of ours.

        ``report.message_id`` (ours, carried in the callback address) finds the message even
        when the report arrives before the provider's id was recorded.
        """
        now = self.clock()
        with self.db.transaction() as tx:
            if report.message_id is not None:
                message = tx.get(Message, report.message_id, with_for_update=True)
                if (
                    message is None
                    or message.channel != channel
                    or message.provider_id not in (None, report.provider_id)
                ):
                    return False
                message.provider_id = report.provider_id
            else:
                message = tx.scalar(
                    select(Message)
                    .where(Message.channel == channel, Message.provider_id == report.provider_id)
                    .with_for_update()
                )
            if message is None:
                return False
            stored_messages.delivery_report(message, now, report.status, report.error_code)
            sender = next((c for c in self.channels.values() if c.name == channel), None)
            if report.status in FINAL_FAILURES and report.error_code and sender is not None:
                message.error_code = report.error_code
                verdict = sender.explain(report.error_code)
                if verdict is not None and message.contact_id is not None:
                    self._apply_verdict(tx, message.contact_id, message.address_id, verdict, now)
        return True

    # -- the bookkeeping, a batch at a time (in the flush's database thread) -----------------

    def _claim_and_check(
        self, size: int, *, contact_id: int | None = None, item_id: int | None = None
    ) -> tuple[int, list[_Send], list[str]] | None:
        """Claim up to ``size`` rows and check them again on their locked people, in one
        transaction: a message that may not go is cancelled here. Returns how many were
        claimed, what is to be sent (in the order queued) and what became of the rest;
        None if nothing is due."""
        now = self.clock()
        sends: list[_Send] = []
        outcomes: list[Outcome] = []
        with self.db.transaction() as tx:
            connection = tx.connection()
            claimed = stored_messages.claim(
                connection,
                worker=self.name,
                now=now,
                lease=self.lease,
                size=size,
                contact_id=contact_id,
                item_id=item_id,
            )
            if not claimed:
                return None
            for row in stored_messages.to_send(connection, claimed):
                why = consent.refusal(
                    row.opted_out,
                    row.erased_at,
                    row.address,
                    row.undeliverable,
                    consent_exempt=row.consent_exempt,
                )
                if why is None and row.expires_at is not None and row.expires_at <= now:
                    why = "expired before it could be sent"
                if why is not None:
                    step = entry("cancelled", now, reason=why)
                    outcomes.append(Outcome(row.id, row.message_id, "cancelled", step))
                    continue
                step = entry("sending", now, attempt=row.attempts)
                outcomes.append(Outcome(row.id, row.message_id, "sending", step, keep=True))
                sends.append(self._ready(row))
            stored_messages.settle(connection, outcomes, now, worker=self.name)
        return len(claimed), sends, ["cancelled"] * (len(outcomes) - len(sends))

    def _ready(self, row: Any) -> _Send:
        assert row.body is not None
        content = Content.from_json(row.content) if row.content else Content(row.body)
        outgoing = Outgoing(row.message_id, row.address, row.body, content, row.language)
        return _Send(
            row.id,
            row.contact_id,
            row.address_id,
            row.attempts,
            row.expires_at,
            self.channels.get(row.scheme),
            row.scheme,
            outgoing,
        )

    def _record(self, done: Sequence[tuple[_Send, SendResult | None]]) -> list[str]:
        """Record what became of many sends in one transaction (None: not sent, handed
        back); returns what happened to each."""
        now = self.clock()
        back = [send for send, result in done if result is None]
        decided = [
            (send, result, *self._decide(send, result, now)) for send, result in done if result
        ]
        with self.db.transaction() as tx:
            connection = tx.connection()
            if back:  # waiting again, as it was (its place in the queue kept)
                step = entry("handed back", now)
                stored_messages.settle(
                    connection,
                    [
                        Outcome(s.item_id, s.outgoing.message_id, "queued", step, keep=True)
                        for s in back
                    ],
                    now,
                    worker=self.name,
                )
                stored_messages.release(tx, [send.item_id for send in back])
            held = stored_messages.settle(
                connection, [outcome for *_, outcome, _ in decided], now, worker=self.name
            )
            for send, result, _, what in decided:
                if what == "failed" and send.item_id in held:
                    self._apply_verdict(tx, send.person, send.address_id, result, now)
        for send, result, outcome, what in decided:
            if send.item_id not in held:
                continue
            if what == "retrying":
                log.warning(
                    "send of message %s will be retried: %s", outcome.message_id, result.error
                )
            elif what == "unknown":
                log.error(
                    "message %s may or may not have been sent: %s", outcome.message_id, result.error
                )
            elif what == "failed":
                log.error("message %s failed: %s", outcome.message_id, outcome.step.get("detail"))
        return ["handed back"] * len(back) + [
            what if send.item_id in held else "gone" for send, _, _, what in decided
        ]

    def _decide(self, send: _Send, result: SendResult, now: datetime) -> tuple[Outcome, str]:
        """What a send's result means for its message: the outcome to record, and its name."""
        item, message = send.item_id, send.outgoing.message_id
        detail = {"code": result.error_code, "detail": result.error}
        if result.outcome == "sent":
            assert send.channel is not None
            status = result.status if result.status in STATUS_RANK else "sent"
            step = entry(status, now)
            sent = Outcome(
                item,
                message,
                status,
                step,
                channel=send.channel.name,
                provider_id=result.provider_id,
                forward_only=True,
            )
            return sent, "sent"
        if (
            result.outcome == "retry"
            and send.attempts < self.max_attempts
            and (send.expires_at is None or send.expires_at > now)
        ):
            delay = self._delay(send.attempts, result.retry_after)
            step = entry("retrying", now, retry_in=int(delay.total_seconds()), **detail)
            retry = Outcome(
                item, message, "queued", step, retry_at=now + delay, last_error=result.error
            )
            return retry, "retrying"
        if result.outcome == "unknown":
            return Outcome(item, message, "unknown", entry("unknown", now, **detail)), "unknown"
        # failed, or retried until there is no point any more
        reason = (
            result.error
            if result.outcome == "failed"
            else f"gave up after {send.attempts} attempts: {result.error}"
        )
        step = entry("failed", now, code=result.error_code, detail=reason)
        return Outcome(item, message, "failed", step, error_code=result.error_code), "failed"

    def _apply_verdict(
        self,
        tx: Session,
        contact_id: int,
        address_id: int | None,
        result: SendResult,
        now: datetime,
    ) -> None:
        """A carrier opt-out changes the contact for good; an address that cannot take
        messages is not used again."""
        contact = tx.get(Contact, contact_id)
        if contact is None:
            return
        if result.opted_out and not contact.opted_out:
            consent.record(
                tx.connection(),
                contact.id,
                "opted_out",
                source="carrier",
                words=f"carrier error {result.error_code}",
                at=now,
                opted_out=contact.opted_out,
            )
        elif result.suppress and address_id is not None:
            stored_contacts.mark_undeliverable(tx, address_id, result.suppress)

    def _delay(self, attempts: int, retry_after: float | None) -> timedelta:
        """Exponential backoff with jitter, at least what the provider asked for."""
        base: timedelta = min(self.backoff * 2 ** (attempts - 1), self.max_backoff)
        delay: timedelta = base * (0.5 + self.jitter())
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay


class _Flush:
    """One flush, on its own event loop: claims, sends and records overlap."""

    def __init__(self, dispatcher: Dispatcher, *, limit: int | None, contact_id: int | None):
        self.d = dispatcher
        self.limit = limit
        self.contact_id = contact_id
        self.report = FlushReport()
        self.claimed = 0  # rows claimed by this flush
        self.open = 0  # of which not yet recorded
        self.waiting = 0  # of which checked and not yet on their way
        self.lines: dict[int, deque[_Send]] = {}  # each person's sends, in turn
        self.sending: set[asyncio.Task[None]] = set()  # one task a person with sends
        self.done: list[tuple[_Send, SendResult | None]] = []  # waiting to be recorded
        self.finished = False
        self.broken = False  # recording failed (the database went away): stop, as it stands
        self.moved = asyncio.Event()  # a send started or was recorded: claim more?
        self.to_record = asyncio.Event()
        self.in_flight = asyncio.Semaphore(dispatcher.concurrency)
        self.refills: dict[int, asyncio.Task[None]] = {}  # by id() of the limiter
        # The bookkeeping runs beside the loop: claims in one thread, records in another, so
        # that neither waits for the other's commit.
        self.claims = ThreadPoolExecutor(1, thread_name_prefix="outbox-claim")
        self.records = ThreadPoolExecutor(1, thread_name_prefix="outbox-record")

    async def run(self) -> FlushReport:
        recorder = asyncio.create_task(self._record_all())
        try:
            await self._claim_all()
        finally:
            if self.sending:  # sends under way finish, and are recorded, whatever happens
                await asyncio.wait(self.sending)
            self.finished = True
            self.to_record.set()
            try:
                await recorder
            finally:
                for channel in self.d.channels.values():
                    await channel.close()
                self.claims.shutdown()
                self.records.shutdown()
        return self.report

    @staticmethod
    async def _in(thread: ThreadPoolExecutor, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, work, *args)

    async def _claim_all(self) -> None:
        """Claim rows while some are due, a claim's worth at a time, when fewer than two
        claims' worth wait to be sent (a claim's transaction may take a while) and there is
        room in the window; hand each to its person's line."""
        window, step = self.d.batch, self.d.claim_size
        while not (self.d._stopping.is_set() or self.broken):
            left = window if self.limit is None else self.limit - self.claimed
            if left <= 0:
                return
            size = min(step, window - self.open, left)
            if self.waiting >= 2 * step or size < min(step, left):
                self.moved.clear()
                await self.moved.wait()
                continue
            claim = partial(self.d._claim_and_check, size, contact_id=self.contact_id)
            found = await self._in(self.claims, claim)
            if found is None:
                return
            claimed, sends, settled = found
            self.claimed += claimed
            self.open += len(sends)
            self.waiting += len(sends)
            for what in settled:
                self.report.add(what)
            for send in sends:
                line = self.lines.get(send.person)
                if line is not None:
                    line.append(send)
                    continue
                self.lines[send.person] = deque([send])
                task = asyncio.create_task(self._send_line(send.person))
                self.sending.add(task)
                task.add_done_callback(self.sending.discard)

    async def _send_line(self, person: int) -> None:
        """A person's sends, one after another; what is left when the worker stops is handed
        back unsent."""
        line = self.lines[person]
        while line:
            send = line[0]
            if self.d._stopping.is_set() or self.broken:
                self._on_its_way()
                result = None
            else:
                result = await self._send(send)
            line.popleft()
            self.done.append((send, result))
            self.to_record.set()
        del self.lines[person]

    async def _send(self, send: _Send) -> SendResult | None:
        if send.channel is None:
            self._on_its_way()
            return SendResult(
                "retry", error=f"no channel for {send.scheme!r} addresses is configured"
            )
        async with self.in_flight:
            try:
                await self._wait_turn(send.scheme)
            except Exception as exc:  # the rate's store is unreachable: it waits, unsent
                log.error("no turn to send: the rate limit could not be read (%s)", _name(exc))
                return None
            finally:
                self._on_its_way()
            if self.d._stopping.is_set() or self.broken:
                return None
            try:
                return await send.channel.send(send.outgoing)
            except Exception as exc:  # a channel's fault, not the provider's answer
                # Only the kind of error is logged: its text may hold the address.
                log.error("the %s channel failed while sending: %s", send.channel.name, _name(exc))
                return SendResult("unknown", error=f"the channel failed: {_name(exc)}")

    def _on_its_way(self) -> None:
        self.waiting -= 1
        self.moved.set()

    async def _wait_turn(self, scheme: str) -> None:
        """Wait for a slot of every rate limit on ``scheme``."""
        for limit in self.d.rate_limits.get(scheme, ()):
            while (slot := limit.take()) is None:
                await self._refill(limit)
            if limit.running_low():
                self._refill(limit)  # in the background: the next slots are ready in time
            wait = (slot - limit.clock()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)

    def _refill(self, limit: Limiter) -> asyncio.Task[None]:
        """The refill of ``limit`` under way, or a new one."""
        task = self.refills.get(id(limit))
        if task is None or task.done():
            task = asyncio.create_task(asyncio.to_thread(limit.refill))
            task.add_done_callback(_report_failure)
            self.refills[id(limit)] = task
        return task

    async def _record_all(self) -> None:
        """Record outcomes as they come, those that come close together in one go. If that
        fails, nothing more is claimed or sent, and the flush fails: what was claimed and not
        recorded is settled as unknown once its lease runs out, never sent twice."""
        try:
            await self._record_as_they_come()
        except BaseException:
            self.broken = True
            self.moved.set()
            raise

    async def _record_as_they_come(self) -> None:
        while True:
            await self.to_record.wait()
            if self.lines and len(self.done) < self.d.batch // 2:
                await asyncio.sleep(RECORD_EVERY)  # more are on their way: record them together
            done, self.done = self.done, []
            self.to_record.clear()
            if done:
                for what in await self._in(self.records, self.d._record, done):
                    self.report.add(what)
                self.open -= len(done)
                self.moved.set()
            if self.finished and not self.done:
                return


def _name(error: BaseException) -> str:
    return type(error).__name__


def _report_failure(task: asyncio.Task[None]) -> None:
    """A refill started in the background that failed is logged (a send waiting for it
    also sees the error)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("could not reserve send slots: %s", _name(error))
