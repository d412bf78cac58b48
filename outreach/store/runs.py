"""Run keys: work that must happen once per period or per occasion, however many workers wake
for it (a digest, retention, an event's reminder). The first to record the key does the work;
the key is the primary key of ``periodic_runs``, so the others find it taken. This module is
the table's only writer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.store.models import PeriodicRun


def claim(tx: Session, job: str, key: str, *, worker: str, now: datetime) -> bool:
    """Record that ``job`` runs for ``key``, in ``tx``; False if it already has (by this
    worker or another). Only a savepoint is rolled back when the key is taken."""
    try:
        with tx.begin_nested():
            tx.add(PeriodicRun(job=job, run_key=key, worker=worker, started_at=now))
    except IntegrityError:
        return False
    return True


def finish(tx: Session, job: str, key: str, *, now: datetime, outcome: str) -> None:
    run = tx.get(PeriodicRun, (job, key))
    if run is not None:
        run.finished_at = now
        run.outcome = outcome[:500]


def done(tx: Session, job: str, prefix: str) -> set[str]:
    """The keys of ``job`` already run that start with ``prefix``."""
    return set(
        tx.scalars(
            select(PeriodicRun.run_key).where(
                PeriodicRun.job == job, PeriodicRun.run_key.like(f"{prefix}%")
            )
        )
    )
