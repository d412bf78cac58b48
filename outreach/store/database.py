"""Connecting to the store: SQLite (embedded default) or PostgreSQL (to scale).

How each database is set up lives in ``outreach.store.dialect``; this module holds the pool and
the one way to open a transaction. On PostgreSQL, callers lock rows (``FOR UPDATE``) where
order matters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc, text
from sqlalchemy.orm import Session, sessionmaker

from outreach.store.dialect import Dialect, dialect_of, make_engine


def unreachable(error: BaseException) -> bool:
    """True when ``error`` says the database could not be reached (refused, gone, timed out,
    no connection free), not that a statement was wrong: the work can wait and be retried."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)


CONFLICTS = ("40P01", "40001")  # deadlock detected, serialization failure (PostgreSQL)


def worth_retrying(error: BaseException) -> bool:
    """True when the work that raised ``error`` was rolled back whole and may simply run again:
    it met a connection the database had dropped (a restart since it was last used; SQLAlchemy
    has dropped it and every older one from the pool, so a retry gets a fresh one), or lost a
    deadlock to another transaction (which PostgreSQL ended by rolling this one back)."""
    if not isinstance(error, exc.DBAPIError):
        return False
    return error.connection_invalidated or getattr(error.orig, "sqlstate", None) in CONFLICTS


class Database:
    """The store's connection pool and its transactions."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **options)
        self.dialect: Dialect = dialect_of(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.dialect.one_writer else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: everything in the block commits together or not at all."""
        if self._write_lock is None:
            with self._sessions.begin() as session:
                yield session
            return
        # SQLite has one writer at a time. Threads of this process queue here, in order,
        # instead of in SQLite's busy handler, which sleeps and retries (up to 100 ms a go)
        # and turned a few milliseconds of waiting into seconds under load.
        with self._write_lock, self._sessions.begin() as session:
            yield session

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready", which is what the caller asks
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()
