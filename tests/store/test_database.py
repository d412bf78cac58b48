"""Which failures of the store are worth running the work again for, as the real databases
raise them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from outreach.store.database import Database, unreachable, worth_retrying
from outreach.store.models import Contact


def two_people(db: Database) -> list[int]:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    row = {"language": "en", "timezone": "Europe/London", "fields": {}, "opted_out": False}
    with db.transaction() as tx:
        tx.execute(insert(Contact), [{**row, "created_at": now, "updated_at": now}] * 2)
        return list(tx.scalars(select(Contact.id).order_by(Contact.id)))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_lost_deadlock_is_worth_retrying(db: Database) -> None:
    first, second = two_people(db)
    both_hold_one = threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    def lock_in_turn(mine: int, theirs: int) -> None:
        try:
            with db.transaction() as tx:
                tx.execute(update(Contact).where(Contact.id == mine).values(first_name="a"))
                both_hold_one.wait()
                tx.execute(update(Contact).where(Contact.id == theirs).values(first_name="b"))
        except DBAPIError as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=lock_in_turn, args=(first, second)),
        threading.Thread(target=lock_in_turn, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    [deadlock] = failures  # PostgreSQL ends one of the two; the other commits
    assert worth_retrying(deadlock)
    assert unreachable(deadlock)  # what the spool would have taken it for without the retry


def test_a_broken_rule_is_not_worth_retrying(db: Database) -> None:
    first, _ = two_people(db)
    with pytest.raises(DBAPIError) as raised, db.transaction() as tx:
        tx.execute(update(Contact).where(Contact.id == first).values(language=None))
    assert not worth_retrying(raised.value)
    assert not unreachable(raised.value)
