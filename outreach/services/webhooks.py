"""Refused webhook requests: counted always, recorded in detail within a budget, purged later.

Refusals show attacks and misconfiguration, so they go into the record, never with a body or a
phone number. But a flood of unsigned requests must cost next to nothing: each refusal only
counts in memory, and up to ``detail_per_minute`` of them a minute are also written one by one
(with the counts so far). Counts reach the store in aggregate (per hour, endpoint, reason and
status), however many there were; detail rows older than ``keep_days`` are purged by the
worker, while the hourly counts stay.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.scheduling.periodic import PeriodicJob
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Base, WebhookRejection

Key = tuple[str, str, int]  # endpoint, reason, status code
MAX_KEYS = 1000  # distinct (endpoint, reason, status) held in memory before a flush


class Refusals:
    """One web process's refusals, on their way to the store."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utcnow,
        detail_per_minute: int = 60,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock
        self.detail_per_minute = detail_per_minute
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: Counter[tuple[datetime, str, str, int]] = Counter()
        self._recent: deque[float] = deque()  # when detail rows were written, this minute

    def count(self, endpoint: str, reason: str, status: int) -> bool:
        """Count a refusal; True if it should also be recorded in detail now (within the
        budget), False if counting is enough."""
        hour = self.clock().replace(minute=0, second=0, microsecond=0)
        with self._lock:
            self._pending[(hour, endpoint[:64], reason[:64], status)] += 1
            now = self.monotonic()
            while self._recent and self._recent[0] <= now - 60:
                self._recent.popleft()
            if len(self._recent) >= self.detail_per_minute and len(self._pending) < MAX_KEYS:
                return False
            self._recent.append(now)
            return True

    def record(self, endpoint: str, reason: str, status: int, size: int) -> None:
        """Write one refusal in detail, with every count waiting to be written."""
        with self.db.transaction() as tx:
            tx.add(
                WebhookRejection(
                    at=self.clock(),
                    endpoint=endpoint[:64],
                    reason=reason[:64],
                    status_code=status,
                    size=size,
                )
            )
            self._write_counts(tx)

    def flush(self) -> int:
        """Write the counts waiting in memory; returns how many refusals they hold."""
        with self.db.transaction() as tx:
            return self._write_counts(tx)

    def _write_counts(self, tx: Session) -> int:
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        table = Base.metadata.tables["webhook_refusal_counts"]
        insert = self.db.dialect.insert(table)
        upsert = insert.on_conflict_do_update(
            index_elements=["hour", "endpoint", "reason", "status_code"],
            set_={"count": table.c.count + insert.excluded.count},
        )
        tx.execute(
            upsert,
            [
                {"hour": h, "endpoint": e, "reason": r, "status_code": s, "count": n}
                for (h, e, r, s), n in pending.items()
            ],
        )
        return sum(pending.values())


def purge_refusals(db: Database, *, keep_days: int, clock: Clock = utcnow) -> int:
    """Delete refusals recorded in detail more than ``keep_days`` ago (hourly counts stay)."""
    with db.transaction() as tx:
        result = tx.execute(
            delete(WebhookRejection).where(
                WebhookRejection.at < clock() - timedelta(days=keep_days)
            ),
            execution_options={"preserve_rowcount": True},
        )
        return int(getattr(result, "rowcount", 0))


def purge_job(settings: Settings, db: Database, clock: Clock) -> PeriodicJob:
    """Every night, once across workers: refusals past their time go (counts stay)."""
    return PeriodicJob(
        "refusals",
        CronTrigger(hour=3, minute=45, timezone="UTC"),
        lambda: purge_refusals(db, keep_days=settings.refusal_days, clock=clock),
        once_per_period=True,
    )
