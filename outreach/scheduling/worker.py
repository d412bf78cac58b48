"""The worker: APScheduler wakes it; the outbox and due-work tables say what to do.

APScheduler 3 keeps its jobs in memory here, never in a shared job store (which version 3 does
not support across processes): the durable truth is the database, and the jobs only look at it.
Runs that pile up are coalesced into one, and a run that is late is still run (the default
one-second grace would silently drop it after a pause).
"""

from __future__ import annotations

import logging
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

    def _configure(self, scheduler: BaseScheduler) -> BaseScheduler:
        scheduler.add_job(self.dispatch, "interval", seconds=self.dispatch_every, id="dispatch")
        scheduler.add_job(self.timers, "interval", seconds=self.timers_every, id="timers")
        scheduler.add_job(self.runtime.outbox.reconcile, "interval", minutes=1, id="reconcile")
        return scheduler

    def dispatch(self) -> None:
        report = self.runtime.outbox.flush(limit=500)
        if report.counts:
            log.info("outbox: %s", report)

    def timers(self) -> None:
        fired = self.runtime.conversations.fire_due()
        if fired:
            log.info("fired %d reminders and timeouts", fired)

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
        """Run in this thread until interrupted (``outreach worker``)."""
        scheduler = self._configure(BlockingScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS))
        self._scheduler = scheduler
        scheduler.start()
