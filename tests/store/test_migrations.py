"""The schema comes from migrations, on both databases, and agrees with the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from outreach.store.database import Database
from outreach.store.migrate import check, current_revision, head_revision, upgrade
from outreach.store.models import Base, Contact


def test_upgrade_twice_is_a_no_op_and_models_match(db: Database) -> None:
    assert current_revision(db) == head_revision()
    assert upgrade(db) == (head_revision(), head_revision())
    check(db)  # raises if a model changed without a migration


def test_times_are_stored_in_utc_and_come_back_aware(db: Database) -> None:
    local = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    with db.transaction() as tx:
        tx.add(Contact(fields={}, created_at=local, updated_at=local))
    with db.transaction() as tx:
        contact = tx.query(Contact).one()
        assert contact.created_at == local
        assert contact.created_at.tzinfo is not None
        assert contact.created_at.utcoffset() == timedelta(0)
        assert contact.created_at.hour == 0


def test_naive_datetimes_are_refused(db: Database) -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as tx:
        tx.add(Contact(fields={}, created_at=naive, updated_at=naive))
        tx.flush()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        db.close()


def test_ping_reports_an_unreachable_database() -> None:
    db = Database(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    assert db.ping() is False
    db.close()


def test_database_errors_never_show_what_was_being_written(db: Database) -> None:
    """Errors are logged; a message body or a number in them would leak into the logs."""
    messages = Base.metadata.tables["messages"]
    now = datetime.now(UTC)
    secret = "my private words to +447400123456"
    with pytest.raises(IntegrityError) as caught, db.transaction() as tx:
        tx.connection().execute(
            insert(messages),
            {
                "contact_id": 10**9,  # no such contact: the foreign key refuses it
                "channel": "sms",
                "direction": "in",
                "body": secret,
                "kind": "reply",
                "status": "received",
                "status_history": [],
                "created_at": now,
                "updated_at": now,
            },
        )
    assert "private words" not in str(caught.value)
    assert "+447400123456" not in str(caught.value)
