"""Sending what is in the outbox, and recording what became of it.

Each message is sent in three steps: claim it (a committed change to ``sending``, after the
consent check on a freshly locked contact row), send it with no transaction open, then record
the outcome. A process that dies between the first and the last step leaves the row in
``sending``: it is reconciled later, never sent again blindly.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, Outgoing, SendResult
from outreach.clock import Clock, utcnow
from outreach.store.consent import record_consent, refusal
from outreach.store.database import Database
from outreach.store.models import Contact, Message, OutboxItem

log = logging.getLogger(__name__)

# Delivery states only move forward; a late "sent" report does not undo "delivered".
STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "accepted": 2,
    "scheduled": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}
FINAL_FAILURES = ("undelivered", "failed")


def history(message: Message, status: str, at: datetime, **detail: Any) -> None:
    """Append to the message's status history (kept whole: it is the record)."""
    entry = {"status": status, "at": at.isoformat(), **{k: v for k, v in detail.items() if v}}
    message.status_history = [*message.status_history, entry]
    message.updated_at = at


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


class Outbox:
    """Sends queued messages through the channels, one at a time."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
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
        self.channels = dict(channels)
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.lease = lease  # longer than a batch can take: past it, the sender has died
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch
        self.rate_limits = dict(rate_limits or {})  # by channel: each must allow a send
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
            claimed = self._claim_batch(size, contact_id)
            if not claimed:
                break
            if self.concurrency == 1:
                outcomes = map(self._send_unless_stopping, claimed)
                for outcome in outcomes:
                    report.add(outcome)
                continue
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
                for outcome in pool.map(self._send_unless_stopping, claimed):
                    report.add(outcome)
        return report

    def _send_unless_stopping(self, item_id: int) -> str:
        if self._stopping.is_set():
            self._release([item_id])
            return "handed back"
        return self._send_claimed(item_id)

    def send_one(self, item_id: int) -> str:
        """Claim, send and record one outbox row; returns what happened to it."""
        claimed = self._claim_batch(1, None, item_id=item_id)
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
            stuck = list(
                tx.scalars(
                    select(OutboxItem)
                    .where(OutboxItem.state == "sending", OutboxItem.claimed_until < now)
                    .with_for_update()
                )
            )
            for item in stuck:
                message = tx.get(Message, item.message_id)
                if message is not None:
                    message.status = "unknown"
                    history(
                        message,
                        "unknown",
                        now,
                        detail="the sender stopped while sending; not resent",
                    )
                    log.error(
                        "message %s was being sent when its sender stopped; not resent",
                        item.message_id,
                    )
                tx.delete(item)
        return len(stuck)

    def record_delivery(
        self,
        *,
        channel: str,
        provider_id: str,
        status: str,
        error_code: str | None,
        message_id: int | None = None,
    ) -> bool:
        """Record a provider's delivery report; False if it matches no message of ours.

        ``message_id`` (ours, carried in the callback address) finds the message even when
        the report arrives before the provider's id was recorded.
        """
        now = self.clock()
        with self.db.transaction() as tx:
            if message_id is not None:
                message = tx.get(Message, message_id, with_for_update=True)
                if (
                    message is None
                    or message.channel != channel
                    or message.provider_id not in (None, provider_id)
                ):
                    return False
                message.provider_id = provider_id
            else:
                message = tx.scalar(
                    select(Message)
                    .where(Message.channel == channel, Message.provider_id == provider_id)
                    .with_for_update()
                )
            if message is None:
                return False
            history(message, status, now, code=error_code)
            if STATUS_RANK.get(status, -1) >= STATUS_RANK.get(message.status, -1):
                message.status = status
            sender = self.channels.get(channel)
            if status in FINAL_FAILURES and error_code and sender is not None:
                message.error_code = error_code
                verdict = sender.explain(error_code)
                contact = tx.get(Contact, message.contact_id) if message.contact_id else None
                if contact is not None and verdict is not None:
                    apply_provider_verdict(tx, contact, verdict, now)
        return True

    # -- steps -------------------------------------------------------------------------------

    def _claim_batch(
        self, size: int, contact_id: int | None, *, item_id: int | None = None
    ) -> list[int]:
        """Mark up to ``size`` due rows as ours (``sending``, with a lease) in one statement.

        On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so workers claiming at
        the same moment take different rows instead of waiting for each other; SQLite has one
        writer at a time, which serialises claims anyway.
        """
        now = self.clock()
        due = (
            select(OutboxItem.id)
            .where(OutboxItem.state == "queued", OutboxItem.not_before <= now)
            .order_by(OutboxItem.not_before, OutboxItem.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
        if contact_id is not None:
            due = due.where(OutboxItem.contact_id == contact_id)
        if item_id is not None:
            due = due.where(OutboxItem.id == item_id)
        claim = (
            update(OutboxItem)
            .where(OutboxItem.id.in_(due.scalar_subquery()))
            .values(
                state="sending",
                claimed_by=self.name,
                claimed_until=now + self.lease,
                attempts=OutboxItem.attempts + 1,
            )
            .returning(OutboxItem.id)
        )
        with self.db.transaction() as tx:
            return sorted(tx.scalars(claim))

    def _release(self, item_ids: list[int]) -> None:
        """Hand claimed rows back, unsent, for another worker (or a later run)."""
        with self.db.transaction() as tx:
            tx.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(item_ids), OutboxItem.state == "sending")
                .values(
                    state="queued",
                    claimed_by=None,
                    claimed_until=None,
                    attempts=OutboxItem.attempts - 1,
                )
            )

    def _send_claimed(self, item_id: int) -> str:
        prepared = self._prepare(item_id)
        if isinstance(prepared, str):
            return prepared
        channel = self.channels.get(prepared.channel_name)
        if channel is None:
            result = SendResult("retry", error=f"no channel {prepared.channel_name!r} configured")
        else:
            for limit in self.rate_limits.get(prepared.channel_name, ()):
                limit.acquire()
            result = channel.send(prepared.outgoing)
        return self._record(item_id, result)

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
            message = tx.get(Message, item.message_id)
            assert message is not None
            address = _address(contact, item.channel)
            why = refusal(contact, consent_exempt=item.consent_exempt) or (
                None if address else "no address for this channel"
            )
            if why is None and item.expires_at is not None and item.expires_at <= now:
                why = "expired before it could be sent"
            if why is not None:
                message.status = "cancelled"
                history(message, "cancelled", now, reason=why)
                tx.delete(item)
                return "cancelled"
            message.status = "sending"
            history(message, "sending", now, attempt=item.attempts)
            assert address is not None and message.body is not None
            return _Claim(item.channel, Outgoing(message.id, address, message.body))

    def _record(self, item_id: int, result: SendResult) -> str:
        now = self.clock()
        with self.db.transaction() as tx:
            item = tx.get(OutboxItem, item_id, with_for_update=True)
            if item is None:
                return "gone"
            message = tx.get(Message, item.message_id, with_for_update=True)
            assert message is not None
            detail = {"code": result.error_code, "detail": result.error}
            if result.outcome == "sent":
                message.provider_id = message.provider_id or result.provider_id
                status = result.status if result.status in STATUS_RANK else "sent"
                if STATUS_RANK[status] >= STATUS_RANK.get(message.status, -1):
                    message.status = status  # a delivery report may already have come
                history(message, status, now)
                tx.delete(item)
                return "sent"
            if (
                result.outcome == "retry"
                and item.attempts < self.max_attempts
                and (item.expires_at is None or item.expires_at > now)
            ):
                delay = self._delay(item.attempts, result.retry_after)
                item.state = "queued"
                item.not_before = now + delay
                item.last_error = result.error
                message.status = "queued"
                history(message, "retrying", now, retry_in=int(delay.total_seconds()), **detail)
                log.warning("send of message %s will be retried: %s", message.id, result.error)
                return "retrying"
            if result.outcome == "unknown":
                message.status = "unknown"
                history(message, "unknown", now, **detail)
                tx.delete(item)
                log.error("message %s may or may not have been sent: %s", message.id, result.error)
                return "unknown"
            # failed, or retried until there is no point any more
            reason = (
                result.error
                if result.outcome == "failed"
                else (f"gave up after {item.attempts} attempts: {result.error}")
            )
            message.status = "failed"
            message.error_code = result.error_code
            history(message, "failed", now, code=result.error_code, detail=reason)
            tx.delete(item)
            contact = tx.get(Contact, item.contact_id)
            if contact is not None:
                apply_provider_verdict(tx, contact, result, now)
            log.error("message %s failed: %s", message.id, reason)
            return "failed"

    def _delay(self, attempts: int, retry_after: float | None) -> timedelta:
        """Exponential backoff with jitter, at least what the provider asked for."""
        base: timedelta = min(self.backoff * 2 ** (attempts - 1), self.max_backoff)
        delay: timedelta = base * (0.5 + self.jitter())
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay


class Limiter(Protocol):
    """Something that makes a send wait its turn (a shared rate limit)."""

    def acquire(self) -> object: ...


@dataclass(frozen=True, slots=True)
class _Claim:
    channel_name: str
    outgoing: Outgoing


def _address(contact: Contact | None, channel: str) -> str | None:
    if contact is None:
        return None
    return contact.slack_user_id if channel == "slack" else contact.phone


def apply_provider_verdict(
    tx: Session, contact: Contact, result: SendResult, now: datetime
) -> None:
    """A carrier opt-out or a number that cannot take SMS changes the contact for good."""
    if result.opted_out and not contact.opted_out:
        record_consent(
            tx,
            contact,
            "opted_out",
            source="carrier",
            words=f"carrier error {result.error_code}",
            at=now,
        )
    elif result.suppress and not contact.undeliverable:
        contact.undeliverable = result.suppress
        contact.updated_at = now
