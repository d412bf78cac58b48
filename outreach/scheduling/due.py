"""Doing what is due: each kind of due work (a conversation's reminder or timeout, an event's
send, a person's start) is handled by whoever registered that kind.

Rows are claimed a batch at a time with a lease, so several workers share them without doing a
row twice (``outreach.store.due``); each handler deletes its row in the transaction that does
its work. A worker that dies leaves its claims to run out, and ``sweep`` hands them back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import groupby

from outreach.clock import Clock, utcnow
from outreach.store import due
from outreach.store.database import Database

log = logging.getLogger(__name__)

Handler = Callable[[int], object]
"""Does the due-work row with this id (and deletes it, in the same transaction)."""
BatchHandler = Callable[[list[int]], object]
"""Does a batch of due-work rows of one kind (and deletes each in the transaction that did
it); one row's failure must not lose the others, which the handler sees to."""


class DueWorkRunner:
    """Claims due work and hands each row to the handler registered for its kind."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utcnow,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 1000,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stopping = threading.Event()
        self._handlers: dict[str, BatchHandler] = {}
        self._sizes: dict[str, int] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """Have ``handler`` do rows of ``kind``, one at a time; rows of kinds nobody
        registered wait."""
        self.register_batch(kind, lambda ids: self._one_by_one(kind, handler, ids), size=1)

    def register_batch(self, kind: str, handler: BatchHandler, *, size: int) -> None:
        """Have ``handler`` do rows of ``kind`` up to ``size`` at a time."""
        if kind in self._handlers:
            raise ValueError(f"due work of kind {kind!r} already has a handler")
        self._handlers[kind] = handler
        self._sizes[kind] = size

    @staticmethod
    def _one_by_one(kind: str, handler: Handler, due_ids: list[int]) -> None:
        for due_id in due_ids:
            try:
                handler(due_id)
            except Exception:  # one bad row must not stop the rest; its lease runs out
                log.exception("due work %s (%s) failed; it will be tried again", due_id, kind)

    def run(self, *, limit: int | None = None) -> Counter[str]:
        """Do everything due now (or ``limit`` rows of it); returns how many of each kind.
        Everything: in as many threads as the database takes writers for due work, each
        claiming its own batches."""
        threads = self.db.dialect.due_threads if limit is None else 1
        if threads == 1:
            return self._run(limit)
        with ThreadPoolExecutor(threads, thread_name_prefix="due") as pool:
            runs = [pool.submit(self._run, None) for _ in range(threads)]
            return sum((run.result() for run in runs), Counter())

    def _run(self, limit: int | None) -> Counter[str]:
        done: Counter[str] = Counter()
        while not self._stopping.is_set() and (limit is None or done.total() < limit):
            size = self.batch if limit is None else min(self.batch, limit - done.total())
            claimed = self.claim(size)
            if not claimed:
                break
            position = 0
            for kind, due_ids in self._batches(claimed):
                if self._stopping.is_set():
                    self._release([i for i, _ in claimed[position:]])
                    break
                try:
                    self._handlers[kind](due_ids)
                except Exception:  # one bad batch must not stop the rest; its leases run out
                    log.exception("due work %s (%s) failed; it will be tried again", due_ids, kind)
                done[kind] += len(due_ids)
                position += len(due_ids)
        return done

    def _batches(self, claimed: list[tuple[int, str]]) -> Iterator[tuple[str, list[int]]]:
        """The claimed rows, in order, as runs of one kind no longer than its handler takes."""
        for kind, rows in groupby(claimed, key=lambda row: row[1]):
            ids = [due_id for due_id, _ in rows]
            size = self._sizes[kind]
            for start in range(0, len(ids), size):
                yield kind, ids[start : start + size]

    def stop(self) -> None:
        """Stop claiming; the row under way finishes and the rest of the batch is handed
        back (for a graceful shutdown)."""
        self._stopping.set()

    def claim(self, size: int) -> list[tuple[int, str]]:
        """Take up to ``size`` due, unclaimed rows, soonest first."""
        with self.db.transaction() as tx:
            return due.claim(
                tx,
                kinds=self._handlers,
                worker=self.name,
                now=self.clock(),
                lease=self.lease,
                size=size,
            )

    def sweep(self) -> int:
        """Hand back rows whose worker's lease ran out (it died or hung)."""
        with self.db.transaction() as tx:
            count = due.sweep(tx, self.clock())
        if count:
            log.warning("%d due rows were left by a stopped worker; handed back", count)
        return count

    def _release(self, due_ids: list[int]) -> None:
        with self.db.transaction() as tx:
            due.release(tx, due_ids, self.name)
