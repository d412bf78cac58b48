"""Send rates every worker shares: per sender and per account, kept in the database.

Twilio allows so many messages a second per sender (and per account); workers on several
machines must share that, so the limit cannot live in one process's memory. Each send reserves
the next free slot with one short row-locked transaction (the generic cell rate algorithm): the
row holds the earliest time the next message may go, and each reservation moves it on by one
interval. A burst of up to ``burst`` messages may go at once after a quiet spell. A worker
reserves a tenth of a second's slots at a time, to spare the database a transaction a send.

``acquire`` blocks its thread until the slot comes. The dispatcher, which waits on an event
loop, uses the parts instead: ``take`` a slot and sleep until it, ``refill`` in a thread, and
refill early (``running_low``) so that no send waits for the database. A slot taken a little
late (the loop was busy) is still used, up to a tenth of a second late: dropping it would lose
the rate, as at a thousand a second a slot lasts a millisecond.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from outreach.clock import Clock, utcnow
from outreach.store.database import Database
from outreach.store.models import RateLimit


class SharedRateLimit:
    """Makes a send wait its turn; safe across threads and processes."""

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
        self.block = max(1, int(rate / 10))
        self.grace = max(self.interval, timedelta(seconds=0.1))  # how late a slot may be used
        self._slots: deque[datetime] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> datetime:
        """Take the next slot (reserving more when this worker has none left) and wait for
        it; returns the slot's time."""
        while (slot := self.take()) is None:
            self.refill()
        wait = (slot - self.clock()).total_seconds()
        if wait > 0:
            self.sleep(wait)
        return slot

    def take(self) -> datetime | None:
        """Take this worker's next reserved slot without waiting for it (its time, or now if
        that has passed); None when this worker has none left: ``refill`` first. Slots
        nobody used in time are dropped: using them long after would make a burst."""
        with self._lock:
            now = self.clock()
            while self._slots and self._slots[0] < now - self.grace:
                self._slots.popleft()
            return max(self._slots.popleft(), now) if self._slots else None

    def running_low(self) -> bool:
        """True when less than two blocks of slots are left: reserving the next one now
        leaves a fifth of a second for the transaction, however busy the database."""
        return len(self._slots) < 2 * self.block

    def refill(self) -> None:
        """Reserve a tenth of a second's slots for this worker (one short transaction)."""
        slots = self.reserve(self.clock(), self.block)
        with self._lock:
            self._slots.extend(slots)

    def reserve(self, now: datetime, count: int = 1) -> list[datetime]:
        """The times ``count`` sends may go (now, or later when others went first)."""
        with self.db.transaction() as tx:
            row = tx.get(RateLimit, self.key, with_for_update=True)
            if row is None:
                tx.execute(
                    self.db.dialect.insert(RateLimit.__table__)  # type: ignore[arg-type]
                    .values(key=self.key, next_free=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                row = tx.get(RateLimit, self.key, with_for_update=True, populate_existing=True)
                assert row is not None
            due = max(row.next_free, now)
            row.next_free = due + self.interval * count
            return [max(due + self.interval * i - self.tolerance, now) for i in range(count)]
