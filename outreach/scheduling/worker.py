"""The worker: APScheduler wakes it; the outbox and due-work tables say what to do.

APScheduler 3 keeps its jobs in memory here, never in a shared job store (which version 3 does
not support across processes): the durable truth is the database, and the jobs only look at it.
Runs that pile up are coalesced into one, and a run that is late is still run (the default
one-second grace would silently drop it after a pause).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from outreach.services.runtime import Runtime

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


class Worker:
    """Sends what the outbox holds and fires what is due, every few seconds."""

    def __init__(
        self, runtime: Runtime, *, dispatch_every: float = 1.0, timers_every: float = 5.0
    ) -> None:
        self.runtime = runtime
        self.dispatch_every = dispatch_every
        self.timers_every = timers_every
        self._scheduler: BaseScheduler | None = None
        self._idle = threading.Condition()
        self._running = 0

    def _configure(self, scheduler: BaseScheduler) -> BaseScheduler:
        scheduler.add_job(self.dispatch, "interval", seconds=self.dispatch_every, id="dispatch")
        scheduler.add_job(self.timers, "interval", seconds=self.timers_every, id="timers")
        scheduler.add_job(self.settle, "interval", minutes=1, id="settle")
        return scheduler

    @contextmanager
    def _job(self) -> Iterator[None]:
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def dispatch(self) -> None:
        with self._job():
            report = self.runtime.outbox.flush(limit=500)
        if report.counts:
            log.info("outbox: %s", report)

    def timers(self) -> None:
        with self._job():
            fired = self.runtime.conversations.fire_due()
        if fired:
            log.info("fired %d reminders and timeouts", fired)

    def settle(self) -> None:
        """Mark what a dead worker left half-sent as unknown (never resent)."""
        with self._job():
            self.runtime.outbox.reconcile()

    def start(self) -> None:
        """Run in background threads (inside the web process, for the demo)."""
        self._scheduler = self._configure(
            BackgroundScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def run_forever(self) -> None:
        """Run in this thread until SIGTERM or SIGINT (``outreach worker``).

        On the signal it stops claiming at once; a send under way finishes and the rest of its
        batch goes back to the outbox, well inside the 30 s platforms allow before SIGKILL.
        """
        scheduler = self._configure(BlockingScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS))
        self._scheduler = scheduler

        def shut_down(signum: int, _frame: object) -> None:
            log.info("signal %s: finishing the send under way, then stopping", signum)
            self.runtime.outbox.stop()
            scheduler.shutdown(wait=False)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, shut_down)
        self.runtime.outbox.reconcile()  # settle what a previous run left half-sent
        scheduler.start()
        with self._idle:  # the jobs running when the signal came finish first
            self._idle.wait_for(lambda: self._running == 0)
