"""Doing what is due: reminders and timeouts of conversations, an event's sends and the
per-person starts they fan out into.

Rows are claimed a batch at a time with a lease (``claimed_by``, ``claimed_until``): on
PostgreSQL with ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``, so
workers claiming together take different rows without waiting; SQLite has one writer, which
serialises claims anyway. Each row is deleted in the transaction that does its work, so it is
done once; a worker that dies leaves its claims to run out, and ``sweep`` hands them back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from outreach.clock import Clock, utcnow
from outreach.services.conversations import Conversations
from outreach.services.events import Events
from outreach.store.database import Database
from outreach.store.models import DueWork, PeriodicRun

log = logging.getLogger(__name__)


class DueWorkRunner:
    """Claims due work and does it."""

    def __init__(
        self,
        db: Database,
        conversations: Conversations,
        events: Events,
        *,
        clock: Clock = utcnow,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 200,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stopping = threading.Event()
        self._handlers: dict[str, Callable[[int], object]] = {
            "reminder": conversations.fire,
            "timeout": conversations.fire,
            "event": events.expand,
            "start": events.start,
        }

    def run(self, *, limit: int | None = None) -> Counter[str]:
        """Do everything due now (or ``limit`` rows of it); returns how many of each kind."""
        done: Counter[str] = Counter()
        while not self._stopping.is_set() and (limit is None or done.total() < limit):
            size = self.batch if limit is None else min(self.batch, limit - done.total())
            claimed = self.claim(size)
            if not claimed:
                break
            for position, (due_id, kind) in enumerate(claimed):
                if self._stopping.is_set():
                    self._release([i for i, _ in claimed[position:]])
                    break
                try:
                    self._handlers[kind](due_id)
                except Exception:  # one bad row must not stop the rest; its lease runs out
                    log.exception("due work %s (%s) failed; it will be tried again", due_id, kind)
                done[kind] += 1
        return done

    def stop(self) -> None:
        """Stop claiming; the row under way finishes and the rest of the batch is handed
        back (for a graceful shutdown)."""
        self._stopping.set()

    def _release(self, due_ids: list[int]) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                update(DueWork)
                .where(DueWork.id.in_(due_ids), DueWork.claimed_by == self.name)
                .values(claimed_by=None, claimed_until=None)
            )

    def claim(self, size: int) -> list[tuple[int, str]]:
        """Take up to ``size`` due, unclaimed rows, soonest first."""
        now = self.clock()
        due = (
            select(DueWork.id)
            .where(
                DueWork.due_at <= now,
                DueWork.claimed_until.is_(None),
                DueWork.kind.in_(self._handlers),
            )
            .order_by(DueWork.due_at, DueWork.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(DueWork)
            .where(DueWork.id.in_(due.scalar_subquery()))
            .values(claimed_by=self.name, claimed_until=now + self.lease)
            .returning(DueWork.id, DueWork.kind, DueWork.due_at)
        )
        with self.db.transaction() as tx:
            rows = tx.execute(claim).all()
        return [(row.id, row.kind) for row in sorted(rows, key=lambda r: (r.due_at, r.id))]

    def sweep(self) -> int:
        """Hand back rows whose worker's lease ran out (it died or hung)."""
        now = self.clock()
        with self.db.transaction() as tx:
            result = cast(
                CursorResult[Any],
                tx.execute(
                    update(DueWork)
                    .where(DueWork.claimed_until < now)
                    .values(claimed_by=None, claimed_until=None)
                ),
            )
        if result.rowcount:
            log.warning("%d due rows were left by a stopped worker; handed back", result.rowcount)
        return int(result.rowcount)


class PeriodicRuns:
    """Periodic jobs run once per period across all workers: the first to record the
    period's run key runs it; the others find the key taken and skip."""

    def __init__(self, db: Database, *, clock: Clock = utcnow, name: str = "worker") -> None:
        self.db = db
        self.clock = clock
        self.name = name

    def run_once(self, job: str, run_key: str, work: Callable[[], object]) -> bool:
        """Run ``work`` if no worker has run ``job`` for ``run_key``; True if this one did."""
        try:
            with self.db.transaction() as tx:
                tx.add(
                    PeriodicRun(job=job, run_key=run_key, worker=self.name, started_at=self.clock())
                )
        except IntegrityError:
            return False
        try:
            outcome = work()
        except Exception as exc:
            self._finish(job, run_key, f"failed: {type(exc).__name__}")
            raise
        self._finish(job, run_key, str(outcome))
        return True

    def _finish(self, job: str, run_key: str, outcome: str) -> None:
        with self.db.transaction() as tx:
            run = tx.get(PeriodicRun, (job, run_key))
            if run is not None:
                run.finished_at = self.clock()
                run.outcome = outcome[:500]
