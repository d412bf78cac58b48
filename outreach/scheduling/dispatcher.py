"""The dispatcher: sends what is in the outbox, and records what became of it.

Each message is sent in three steps: claim it (a committed change to ``sending``, with a
lease), check it again and send it with no transaction open, then record the outcome. The
channel is the one serving the scheme of the address the message goes to, looked up at the
moment of sending. A process that dies between the first and the last step leaves the row in
``sending``: it is reconciled later, never sent again blindly. What each outcome writes is
``outreach.store.messages``'s business; what it means (retry when, give up when, what it says
about the contact) is decided here.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, DeliveryReport, Outgoing, SendResult
from outreach.clock import Clock, utcnow
from outreach.content import Content
from outreach.store import consent
from outreach.store import contacts as stored_contacts
from outreach.store import messages as stored_messages
from outreach.store.database import Database
from outreach.store.messages import STATUS_RANK
from outreach.store.models import Contact, ContactAddress, Message, OutboxItem

log = logging.getLogger(__name__)

FINAL_FAILURES = ("undelivered", "failed")


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
    """Something that makes a send wait its turn (a shared rate limit)."""

    def acquire(self) -> object: ...


@dataclass(frozen=True, slots=True)
class _Claim:
    channel: Channel | None
    scheme: str
    outgoing: Outgoing


class Dispatcher:
    """Sends queued messages through the channels, a batch at a time."""

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
        rate_limits: Mapping[str, Sequence[Limiter]] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.db = db
        found = channels.values() if isinstance(channels, Mapping) else channels
        self.channels = {channel.scheme: channel for channel in found}  # by address scheme
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.lease = lease  # longer than a batch can take: past it, the sender has died
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch
        self.rate_limits = dict(rate_limits or {})  # by scheme: each must allow a send
        self.concurrency = concurrency  # sends in flight at once (the provider's latency)
        self._stopping = threading.Event()

    def flush(self, *, limit: int | None = None, contact_id: int | None = None) -> FlushReport:
        """Send every message due now (or ``limit`` of them), oldest first, claiming them a
        batch at a time so that several workers share the outbox without sending twice."""
        report = FlushReport()
        while not self._stopping.is_set():
            size = self.batch if limit is None else min(self.batch, limit - report.total)
            if size <= 0:
                break
            claimed = self._claim(size, contact_id=contact_id)
            if not claimed:
                break
            # One person's messages go one after another, in the order they were queued (an
            # invitation before its question); different people's go at once.
            by_person: dict[int, list[int]] = {}
            for item_id, person in claimed:
                by_person.setdefault(person, []).append(item_id)
            for outcomes in self._send_all(list(by_person.values())):
                for outcome in outcomes:
                    report.add(outcome)
        return report

    def _send_all(self, turns: list[list[int]]) -> list[list[str]]:
        """Each list of rows in turn, the lists side by side (``concurrency`` at once)."""
        if self.concurrency == 1:
            return [self._send_in_turn(turn) for turn in turns]
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
            return list(pool.map(self._send_in_turn, turns))

    def _send_in_turn(self, item_ids: list[int]) -> list[str]:
        return [self._send_unless_stopping(item_id) for item_id in item_ids]

    def claim(
        self, size: int, *, contact_id: int | None = None, item_id: int | None = None
    ) -> list[int]:
        """Mark up to ``size`` due rows as ours (``sending``, with a lease) in one statement;
        returns their ids."""
        return [item for item, _ in self._claim(size, contact_id=contact_id, item_id=item_id)]

    def _claim(
        self, size: int, *, contact_id: int | None = None, item_id: int | None = None
    ) -> list[tuple[int, int]]:
        with self.db.transaction() as tx:
            return stored_messages.claim(
                tx,
                worker=self.name,
                now=self.clock(),
                lease=self.lease,
                size=size,
                contact_id=contact_id,
                item_id=item_id,
            )

    def send_one(self, item_id: int) -> str:
        """Claim, send and record one outbox row; returns what happened to it."""
        claimed = self.claim(1, item_id=item_id)
        return self._send_claimed(claimed[0]) if claimed else "gone"

    def stop(self) -> None:
        """Stop claiming; a flush under way finishes its current send and hands back the
        rest of its batch (for a graceful shutdown)."""
        self._stopping.set()

    def reconcile(self) -> int:
        """Settle messages left in ``sending`` by a sender that stopped (a crash, a kill).

        Whether the provider got them cannot be known without their id, so they are marked
        ``unknown`` and reported, never sent again blindly: a person could get them twice.
        """
        now = self.clock()
        with self.db.transaction() as tx:
            stuck = stored_messages.abandoned(tx, now)
            for item in stuck:
                message = tx.get(Message, item.message_id)
                stored_messages.unknown(
                    tx, item, message, now, detail="the sender stopped while sending; not resent"
                )
                log.error(
                    "message %s was being sent when its sender stopped; not resent",
                    item.message_id,
                )
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

    # -- steps -------------------------------------------------------------------------------

    def _send_unless_stopping(self, item_id: int) -> str:
        if self._stopping.is_set():
            with self.db.transaction() as tx:
                stored_messages.release(tx, [item_id])
            return "handed back"
        return self._send_claimed(item_id)

    def _send_claimed(self, item_id: int) -> str:
        prepared = self._prepare(item_id)
        if isinstance(prepared, str):
            return prepared
        if prepared.channel is None:
            result = SendResult(
                "retry", error=f"no channel for {prepared.scheme!r} addresses is configured"
            )
        else:
            for limit in self.rate_limits.get(prepared.scheme, ()):
                limit.acquire()
            result = prepared.channel.send(prepared.outgoing)
        return self._record(item_id, prepared.channel, result)

    def _prepare(self, item_id: int) -> _Claim | str:
        """Check consent and useful life again, on a freshly locked contact, just before
        sending; a message that may not go is cancelled here."""
        now = self.clock()
        with self.db.transaction() as tx:
            item = tx.get(OutboxItem, item_id)
            if item is None or item.state != "sending" or item.claimed_by != self.name:
                return "gone"
            contact = tx.scalar(
                select(Contact).where(Contact.id == item.contact_id).with_for_update()
            )
            address = tx.get(ContactAddress, item.address_id)
            message = tx.get(Message, item.message_id)
            assert message is not None
            why = (
                "erased"
                if contact is None
                else consent.refusal(
                    contact.opted_out,
                    contact.erased_at,
                    address,
                    consent_exempt=item.consent_exempt,
                )
            )
            if why is None and item.expires_at is not None and item.expires_at <= now:
                why = "expired before it could be sent"
            if why is not None:
                stored_messages.cancelled(tx, item, message, now, why)
                return "cancelled"
            assert contact is not None and address is not None and message.body is not None
            stored_messages.sending(message, now, item.attempts)
            content = (
                Content.from_json(message.content) if message.content else Content(message.body)
            )
            outgoing = Outgoing(
                message.id, address.address, message.body, content, contact.language
            )
            return _Claim(self.channels.get(address.scheme), address.scheme, outgoing)

    def _record(self, item_id: int, channel: Channel | None, result: SendResult) -> str:
        now = self.clock()
        with self.db.transaction() as tx:
            item = tx.get(OutboxItem, item_id, with_for_update=True)
            if item is None:
                return "gone"
            message = tx.get(Message, item.message_id, with_for_update=True)
            assert message is not None
            detail = {"code": result.error_code, "detail": result.error}
            if result.outcome == "sent":
                assert channel is not None
                status = result.status if result.status in STATUS_RANK else "sent"
                stored_messages.sent(
                    tx,
                    item,
                    message,
                    now,
                    channel=channel.name,
                    provider_id=result.provider_id,
                    status=status,
                )
                return "sent"
            if (
                result.outcome == "retry"
                and item.attempts < self.max_attempts
                and (item.expires_at is None or item.expires_at > now)
            ):
                delay = self._delay(item.attempts, result.retry_after)
                stored_messages.retrying(item, message, now, delay, **detail)
                log.warning("send of message %s will be retried: %s", message.id, result.error)
                return "retrying"
            if result.outcome == "unknown":
                stored_messages.unknown(tx, item, message, now, **detail)
                log.error("message %s may or may not have been sent: %s", message.id, result.error)
                return "unknown"
            # failed, or retried until there is no point any more
            reason = (
                result.error
                if result.outcome == "failed"
                else (f"gave up after {item.attempts} attempts: {result.error}")
            )
            contact_id, address_id = item.contact_id, item.address_id
            stored_messages.failed(tx, item, message, now, code=result.error_code, why=reason or "")
            self._apply_verdict(tx, contact_id, address_id, result, now)
            log.error("message %s failed: %s", message.id, reason)
            return "failed"

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
