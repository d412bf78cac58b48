"""Send rates every worker shares: per sender and per account, kept in the database.

Twilio allows so many messages a second per sender (and per account); workers on several
machines must share that, so the limit cannot live in one process's memory. Each send reserves
the next free slot with one short row-locked transaction (the generic cell rate algorithm): the
row holds the earliest time the next message may go, and each reservation moves it on by one
interval. A burst of up to ``burst`` messages may go at once after a quiet spell.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite

from outreach.clock import Clock, utcnow
from outreach.store.database import Database
from outreach.store.models import RateLimit


class SharedRateLimit:
    """Blocks the caller until its send is allowed; safe across threads and processes."""

    def __init__(
        self,
        db: Database,
        key: str,
        rate: float,
        *,
        burst: int = 1,
        clock: Clock = utcnow,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be above zero")
        self.db = db
        self.key = key
        self.interval = timedelta(seconds=1 / rate)
        self.tolerance = self.interval * (max(1, burst) - 1)
        self.clock = clock
        self.sleep = sleep

    def acquire(self) -> datetime:
        """Reserve a slot and wait for it; returns the slot's time."""
        now = self.clock()
        slot = self.reserve(now)
        wait = (slot - now).total_seconds()
        if wait > 0:
            self.sleep(wait)
        return max(slot, now)

    def reserve(self, now: datetime) -> datetime:
        """The time this send may go (now, or later when others went first)."""
        with self.db.transaction() as tx:
            row = tx.get(RateLimit, self.key, with_for_update=True)
            if row is None:
                dialect = postgresql if tx.get_bind().dialect.name == "postgresql" else sqlite
                tx.execute(
                    dialect.insert(RateLimit)
                    .values(key=self.key, next_free=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                row = tx.get(RateLimit, self.key, with_for_update=True, populate_existing=True)
                assert row is not None
            due = max(row.next_free, now)
            row.next_free = due + self.interval
            return max(due - self.tolerance, now)
