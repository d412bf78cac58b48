"""Periodic jobs: work a feature wants done on a schedule (re-reading event files, retention,
later digests), registered as ``PeriodicJob(name, trigger, work)`` without editing the worker.

A job marked ``once_per_period`` runs once per period across all workers: the first to record
the period's run key (the trigger's last fire time, the same in every worker whenever in the
period it wakes) runs it; the others find the key taken and skip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from outreach.clock import Clock, utcnow
from outreach.store import runs
from outreach.store.database import Database


@dataclass(frozen=True)
class PeriodicJob:
    """Something to do on a schedule: ``work`` is called with no arguments."""

    name: str
    trigger: BaseTrigger
    work: Callable[[], object]
    once_per_period: bool = False  # across all workers (needs a trigger with fire times)


class PeriodicRuns:
    """Runs each period of a job once, whichever worker gets there first."""

    def __init__(self, db: Database, *, clock: Clock = utcnow, name: str = "worker") -> None:
        self.db = db
        self.clock = clock
        self.name = name

    def run_once(self, job: str, run_key: str, work: Callable[[], object]) -> bool:
        """Run ``work`` if no worker has run ``job`` for ``run_key``; True if this one did."""
        with self.db.transaction() as tx:
            claimed = runs.claim(tx, job, run_key, worker=self.name, now=self.clock())
        if not claimed:
            return False
        try:
            outcome = work()
        except Exception as exc:
            self._finish(job, run_key, f"failed: {type(exc).__name__}")
            raise
        self._finish(job, run_key, str(outcome))
        return True

    def run_job(self, job: PeriodicJob) -> bool:
        """Run a once-per-period job for the period ``now`` falls in."""
        if not isinstance(job.trigger, CronTrigger):
            raise TypeError(f"job {job.name!r}: once per period needs a cron trigger")
        key = last_fire_time(job.trigger, self.clock()).isoformat()
        return self.run_once(job.name, key, job.work)

    def _finish(self, job: str, run_key: str, outcome: str) -> None:
        with self.db.transaction() as tx:
            runs.finish(tx, job, run_key, now=self.clock(), outcome=outcome)


def last_fire_time(trigger: CronTrigger, now: datetime) -> datetime:
    """The latest time at or before ``now`` that ``trigger`` fires: the period's run key, the
    same in every worker whenever in the period it wakes."""
    start = now - timedelta(days=1)
    fire: datetime | None = trigger.get_next_fire_time(None, start)
    for _ in range(13):  # rarer than daily: look up to a year back
        if fire is not None and fire <= now:
            break
        start -= timedelta(days=31)
        fire = trigger.get_next_fire_time(None, start)
    if fire is None or fire > now:
        return now
    while True:
        following: datetime | None = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if following is None or following > now:
            return fire
        fire = following
