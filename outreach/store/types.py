"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

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

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if stores_naive_times(dialect) else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
