"""Statements run on the driver's cursor (``outreach.store.lean``) store and return exactly
what SQLAlchemy would, and fail the way SQLAlchemy's own statements fail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, bindparam, event, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from outreach.store.database import Database, unreachable
from outreach.store.lean import Lean
from outreach.store.models import Contact, ContactAddress, Message, OutboxItem
from outreach.store.statements import TABLES
from outreach.store.types import UTCDateTime

NOW = datetime(2026, 3, 2, 9, 30, 15, 120000, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 19, 0, tzinfo=ZoneInfo("Europe/London"))  # 18:00 UTC, no µs
messages, outbox = TABLES["messages"], TABLES["outbox"]
INSERT_MESSAGE = Lean(insert(messages).returning(messages.c.id, messages.c.created_at))
INSERT_OUTBOX = Lean(insert(outbox))


def person(db: Database) -> int:
    row = {"language": "cy", "timezone": "Europe/London", "fields": {}, "opted_out": False}
    with db.transaction() as tx:
        return int(
            tx.execute(
                insert(Contact).returning(Contact.id), {**row, "created_at": NOW, "updated_at": NOW}
            ).scalar_one()
        )


def address_of(db: Database, contact_id: int) -> int:
    with db.transaction() as tx:
        return int(
            tx.execute(
                insert(ContactAddress).returning(ContactAddress.id),
                {
                    "contact_id": contact_id,
                    "scheme": "tel",
                    "address": "+447700900123",
                    "created_at": NOW,
                },
            ).scalar_one()
        )


def message(contact_id: int, sid: str, at: datetime) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "channel": "twilio",
        "direction": "out",
        "provider_id": sid,
        "body": "Diolch yn fawr — ☺",
        "kind": "reply",
        "status": "queued",
        "status_history": [{"status": "queued", "at": at.isoformat(), "n": 2**40}],
        "created_at": at,
        "updated_at": at,
    }


def stored(db: Database, message_id: int) -> tuple[Any, ...]:
    """The row as the database holds it, read with no type of SQLAlchemy's in between."""
    with db.engine.connect() as connection:
        return tuple(
            connection.exec_driver_sql(
                f"SELECT body, status_history, created_at, updated_at FROM messages "
                f"WHERE id = {int(message_id)}"
            ).one()
        )


def test_a_row_is_stored_as_sqlalchemy_stores_it_and_comes_back_typed(db: Database) -> None:
    contact_id = person(db)
    address_id = address_of(db, contact_id)
    with db.transaction() as tx:
        c = tx.connection()
        by_sqlalchemy = [
            c.execute(
                insert(messages).returning(messages.c.id), message(contact_id, sid, at)
            ).scalar_one()
            for sid, at in (("SMa", NOW), ("SMb", SUMMER))
        ]
        rows = [
            INSERT_MESSAGE.one(c, message(contact_id, sid, at))
            for sid, at in (("SMc", NOW), ("SMd", SUMMER))
        ]
        # Defaults are filled in as SQLAlchemy fills them: queued, not urgent, no attempts.
        INSERT_OUTBOX.run(
            c,
            {
                "message_id": rows[0].id,
                "contact_id": contact_id,
                "address_id": address_id,
                "not_before": NOW,
                "created_at": NOW,
            },
        )
    assert [stored(db, row.id) for row in rows] == [stored(db, i) for i in by_sqlalchemy]
    assert rows[1].created_at == SUMMER and rows[1].created_at.tzinfo == UTC
    with db.transaction() as tx:
        queued = tx.scalars(select(OutboxItem)).one()
        read = tx.get(Message, rows[1].id)
        assert read is not None
        assert read.status_history == [{"status": "queued", "at": SUMMER.isoformat(), "n": 2**40}]
    assert (queued.state, queued.urgent, queued.attempts) == ("queued", False, 0)


def test_a_broken_rule_raises_sqlalchemys_error_without_the_values(db: Database) -> None:
    contact_id = person(db)
    with db.transaction() as tx:
        INSERT_MESSAGE.one(tx.connection(), message(contact_id, "SMsame", NOW))
    with pytest.raises(IntegrityError) as raised, db.transaction() as tx:
        INSERT_MESSAGE.one(tx.connection(), message(contact_id, "SMsame", NOW))
    assert "Diolch" not in str(raised.value)  # parameters hidden, as the engine's are
    assert not unreachable(raised.value)
    with db.transaction() as tx:  # the connection went back to the pool usable
        assert tx.scalar(select(Message.id).where(Message.provider_id == "SMsame")) is not None


def test_listeners_see_each_statement_and_can_stop_it(db: Database) -> None:
    contact_id = person(db)
    seen: list[str] = []

    def refuse(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)
        if statement.startswith("INSERT"):
            raise RuntimeError("disk full")

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(RuntimeError, match="disk full"), db.transaction() as tx:
            INSERT_MESSAGE.one(tx.connection(), message(contact_id, "SMx", NOW))
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)
    assert seen and seen[-1].startswith("INSERT INTO messages")
    with db.transaction() as tx:
        assert tx.scalar(select(Message.id)) is None


def test_it_runs_only_inside_a_transaction(db: Database) -> None:
    contact_id = person(db)
    with db.engine.connect() as connection, pytest.raises(RuntimeError, match="transaction"):
        INSERT_MESSAGE.one(connection, message(contact_id, "SMy", NOW))


def test_what_it_cannot_run_as_sqlalchemy_would_is_refused(db: Database) -> None:
    many = Lean(select(messages.c.id).where(messages.c.id.in_(bindparam("ids", expanding=True))))
    with db.transaction() as tx, pytest.raises(ValueError, match="plain parameters"):
        many.rows(tx.connection(), {"ids": [1, 2]})


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_connection_the_server_dropped_is_reported_lost_and_replaced(db: Database) -> None:
    contact_id = person(db)
    with pytest.raises(DBAPIError) as raised, db.transaction() as tx:
        c = tx.connection()
        pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        INSERT_MESSAGE.one(c, message(contact_id, "SMz", NOW))
    assert raised.value.connection_invalidated
    assert unreachable(raised.value)  # what sends a webhook to the spool
    with db.transaction() as tx:  # a fresh connection takes its place
        INSERT_MESSAGE.one(tx.connection(), message(contact_id, "SMz", NOW))


def test_times_are_written_on_sqlite_exactly_as_sqlalchemys_datetime_writes_them() -> None:
    # UTCDateTime takes one step where SQLAlchemy's DATETIME takes two; the text must be the
    # same, or times stored before and after would not compare.
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    for at in (NOW, SUMMER, datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)):
        assert ours(at) == theirs(at.astimezone(UTC).replace(tzinfo=None))
    assert ours(SUMMER) == "2026-07-01 18:00:00.000000"
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 3, 2, 9, 30))


def test_values_a_statement_carries_go_with_it(db: Database) -> None:
    contact_id = person(db)
    latest = Lean(
        select(messages.c.provider_id)
        .where(messages.c.contact_id == bindparam("contact_id"))
        .order_by(messages.c.id.desc())
        .limit(2)
    )
    with db.transaction() as tx:
        c = tx.connection()
        for sid in ("SM1", "SM2", "SM3"):
            INSERT_MESSAGE.one(c, message(contact_id, sid, NOW))
        assert [row.provider_id for row in latest.rows(c, {"contact_id": contact_id})] == [
            "SM3",
            "SM2",
        ]
        assert latest.rows(c, {"contact_id": contact_id + 1}) == []
