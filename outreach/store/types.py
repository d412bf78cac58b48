"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from outreach.store.dialect import stores_naive_times


class UTCDateTime(TypeDecorator[datetime]):
    """Stored in UTC, returned time-zone aware, on every database.

    SQLite keeps no time zone and hands back naive datetimes; PostgreSQL's ``timestamptz``
    keeps the instant. Either way the application sees an aware UTC datetime, and a naive
    one given to it is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, one step from an aware datetime to the text SQLAlchemy's ``DATETIME``
        stores (``2026-03-02 09:30:00.000000``), instead of two: every row a webhook writes
        has two or three times in it."""
        if not stores_naive_times(dialect):
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            return _naive_utc(value).isoformat(" ", "microseconds")

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if stores_naive_times(dialect):
            return _naive_utc(value)
        return _aware(value).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware one (UTC)")
    return value


def _naive_utc(value: datetime) -> datetime:
    return _aware(value).astimezone(UTC).replace(tzinfo=None)
