"""Connecting to the store: SQLite (embedded default) or PostgreSQL (to scale).

SQLite is set up the way a small server needs it: WAL (readers do not block the writer), a busy
timeout instead of instant "database is locked" errors, foreign keys enforced, and every
transaction begun IMMEDIATE, so two writers queue for the lock at the start instead of
deadlocking halfway through. On PostgreSQL, callers lock rows (``FOR UPDATE``) where order
matters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **options: Any) -> Engine:
    """An SQLAlchemy engine for ``url`` with the settings Outreach relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, instead of the driver's own deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The store's connection pool and its transactions."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

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
