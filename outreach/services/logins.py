"""Coordinators' logins: how many wrong passwords someone may try, and which sessions live.

Both are kept in the store, so every web process shares them and a restart forgets nothing. A
lock-out is per "who": a device a coordinator logged in from before (a signed cookie the web
layer keeps), else the client's address. That way an attacker behind the same proxy or NAT as
the coordinators, or anyone guessing from many addresses, cannot lock out a coordinator who
has logged in from their browser before. Sessions are known to the server by a hash of their
secret, so logging out ends them everywhere, even for a copy of the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger

from outreach.clock import Clock, utcnow
from outreach.scheduling.periodic import PeriodicJob
from outreach.store import logins
from outreach.store.database import Database

SESSION_LIFE = timedelta(hours=8)


class LoginThrottle:
    """After ``limit`` wrong passwords within ``window``, that "who" waits until the oldest
    of them is out of the window; a right password wipes the slate."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utcnow,
        limit: int = 5,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self.db = db
        self.clock = clock
        self.limit = limit
        self.window = window

    def wait(self, who: str) -> float:
        """Seconds until ``who`` may try again (0: now)."""
        now = self.clock()
        with self.db.transaction() as tx:
            recent = logins.failures_since(tx, who, now - self.window)
        if len(recent) < self.limit:
            return 0.0
        return max(0.0, (recent[-self.limit] + self.window - now).total_seconds())

    def failed(self, who: str) -> None:
        with self.db.transaction() as tx:
            logins.failed(tx, who, self.clock())

    def succeeded(self, who: str) -> None:
        with self.db.transaction() as tx:
            logins.forgive(tx, who)


class Sessions:
    """Logins the server knows about: opened at login, checked on every page, revoked at
    logout."""

    def __init__(self, db: Database, *, clock: Clock = utcnow, life: timedelta = SESSION_LIFE):
        self.db = db
        self.clock = clock
        self.life = life

    def open(self) -> str:
        """A new session; returns the secret for the cookie (only its hash is stored)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.transaction() as tx:
            logins.open_session(tx, _key(secret), at=now, expires_at=now + self.life)
        return secret

    def alive(self, secret: str) -> bool:
        with self.db.transaction() as tx:
            return logins.session_alive(tx, _key(secret), self.clock())

    def end(self, secret: str) -> None:
        with self.db.transaction() as tx:
            logins.revoke(tx, _key(secret), self.clock())


def purge_job(db: Database, clock: Clock) -> PeriodicJob:
    """Every night, once across workers: failures and sessions no longer of any use go."""

    def purge() -> int:
        now = clock()
        with db.transaction() as tx:
            return logins.purge(
                tx, failures_before=now - timedelta(days=1), sessions_before=now - timedelta(days=7)
            )

    return PeriodicJob(
        "logins", CronTrigger(hour=3, minute=50, timezone="UTC"), purge, once_per_period=True
    )


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
