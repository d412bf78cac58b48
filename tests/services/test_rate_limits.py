"""Send rates shared by every worker through the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from outreach.scheduling.rate_limits import SharedRateLimit
from outreach.store.database import Database


def test_workers_share_one_senders_rate(db: Database, t0: datetime) -> None:
    waits: list[float] = []
    one = SharedRateLimit(
        db, "sms:sender:+447400000001", 10.0, clock=lambda: t0, sleep=waits.append
    )
    two = SharedRateLimit(
        db, "sms:sender:+447400000001", 10.0, clock=lambda: t0, sleep=waits.append
    )
    other = SharedRateLimit(db, "sms:sender:MG123", 10.0, clock=lambda: t0, sleep=waits.append)
    slots = [one.acquire(), two.acquire(), one.acquire(), two.acquire(), other.acquire()]
    assert [round((s - t0).total_seconds(), 3) for s in slots] == [0.0, 0.1, 0.2, 0.3, 0.0]
    assert [round(w, 3) for w in waits] == [0.1, 0.2, 0.3]


def test_a_quiet_spell_allows_a_burst_and_no_more(db: Database, t0: datetime) -> None:
    now = [t0]
    limit = SharedRateLimit(
        db, "sms:account:AC1", 2.0, burst=3, clock=lambda: now[0], sleep=lambda s: None
    )
    assert [limit.acquire() for _ in range(4)] == [t0, t0, t0, t0 + timedelta(seconds=0.5)]
    now[0] = t0 + timedelta(minutes=1)  # quiet: the backlog is forgotten, a new burst may go
    assert limit.acquire() == now[0]
