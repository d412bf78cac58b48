"""The worker: APScheduler wakes it; the outbox and due-work tables say what to do.

APScheduler 3 keeps its jobs in memory here, never in a shared job store (which version 3 does
not support across processes): the durable truth is the database, and the jobs only look at it.
Runs that pile up are coalesced into one, and a run that is late is still run (the default
one-second grace would silently drop it after a pause). Besides its own three jobs (send, do
what is due, settle what a dead worker left), it runs the periodic jobs the features register
in the runtime (``outreach.scheduling.periodic``); those marked once per period run once per
period across all workers.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from outreach.scheduling.dispatcher import Dispatcher
from outreach.scheduling.due import DueWorkRunner
from outreach.scheduling.periodic import PeriodicJob, PeriodicRuns

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


class _BusyTicks(logging.Filter):
    """A tick that finds the previous one still at work (sending a long outbox) is how the
    worker is meant to run, not a warning: APScheduler's note of it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_BusyTicks())
# "Running job ... executed successfully" for every tick is two lines a job a second: the log
# would hold nothing else. Failures are still logged (at ERROR).
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)


class Worker:
    """Sends what the outbox holds and fires what is due, every few seconds.

    ``on_start`` runs once before the first tick (the runtime mirrors the event files then).
    """

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        due: DueWorkRunner,
        periodic: PeriodicRuns,
        jobs: Sequence[PeriodicJob] = (),
        on_start: Callable[[], object] = lambda: None,
        dispatch_every: float = 1.0,
        due_every: float = 1.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.due_work = due
        self.periodic = periodic
        self.jobs = list(jobs)
        self.on_start = on_start
        self.dispatch_every = dispatch_every
        self.due_every = due_every
        self._scheduler: BaseScheduler | None = None
        self._idle = threading.Condition()
        self._running = 0

    def _configure(self, scheduler: BaseScheduler) -> BaseScheduler:
        scheduler.add_job(self.dispatch, "interval", seconds=self.dispatch_every, id="dispatch")
        scheduler.add_job(self.due, "interval", seconds=self.due_every, id="due")
        scheduler.add_job(self.settle, "interval", minutes=1, id="settle")
        for job in self.jobs:
            scheduler.add_job(self._periodic, job.trigger, args=(job,), id=job.name)
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
        """Send until nothing is due: a flush that stopped at a count would leave the rest
        of the second idle, and the send rate unreached."""
        with self._job():
            report = self.dispatcher.flush()
        if report.counts:
            log.info("outbox: %s", report)

    def due(self) -> None:
        """Fire due reminders and timeouts; fan events' sends out; start flows for people."""
        with self._job():
            done = self.due_work.run()
        if done:
            log.info("due work done: %s", dict(done))

    def settle(self) -> None:
        """Mark what a dead worker left half-sent as unknown (never resent); hand back due
        work whose worker's lease ran out."""
        with self._job():
            self.dispatcher.reconcile()
            self.due_work.sweep()

    def _periodic(self, job: PeriodicJob) -> None:
        with self._job():
            if job.once_per_period:
                self.periodic.run_job(job)
            else:
                job.work()

    def start(self) -> None:
        """Run in background threads (inside the web process, for the demo)."""
        self.on_start()
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
            self.dispatcher.stop()
            self.due_work.stop()
            scheduler.shutdown(wait=False)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, shut_down)
        self.dispatcher.reconcile()  # settle what a previous run left half-sent
        self.on_start()
        scheduler.start()
        with self._idle:  # the jobs running when the signal came finish first
            self._idle.wait_for(lambda: self._running == 0)
