"""A batch's rows written and read in one statement each, as the worker's flow starts do:
whatever the batch's size, with what was written read back the same on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from outreach.store import contacts
from outreach.store.database import Database
from outreach.store.dialect import insert_many
from outreach.store.models import Contact, ContactTag, DueWork

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def people(db: Database, count: int) -> list[int]:
    row = {"language": "en", "timezone": "Europe/London", "fields": {}, "opted_out": False}
    with db.transaction() as tx:
        tx.execute(insert(Contact), [{**row, "created_at": NOW, "updated_at": NOW}] * count)
        return list(tx.scalars(select(Contact.id).order_by(Contact.id)))


def test_a_batch_larger_than_a_statements_parameter_limit_is_read_whole(db: Database) -> None:
    # SQLite takes at most 32,766 parameters in a statement: the ids go as one.
    ids = people(db, 40_000)
    with db.transaction() as tx:
        c = tx.connection()
        insert_many(
            c,
            ContactTag.__table__,  # type: ignore[arg-type]
            [{"contact_id": i, "tag": "north" if i % 2 else "south"} for i in ids],
        )
        everyone = contacts.tags_of(c, ids)
        some = contacts.tags_of(c, ids[:3])
        nobody = contacts.tags_of(c, [])
    assert len(everyone) == 40_000
    assert everyone[ids[0]] == ({"north"} if ids[0] % 2 else {"south"})
    assert set(some) == set(ids[:3])
    assert nobody == {}


def test_a_batch_of_rows_reads_back_as_written(db: Database) -> None:
    (person,) = people(db, 1)
    london = datetime(2026, 7, 1, 18, 0, tzinfo=ZoneInfo("Europe/London"))
    rows = [
        {
            "kind": "reminder",
            "contact_id": person,
            "due_at": at,
            "payload": {"seq": n, "note": "Diolch yn fawr — ☺", "when": {"1": "a"}},
            "created_at": NOW,
        }
        for n, at in enumerate([london, london + timedelta(days=1), NOW, NOW])
    ]
    with db.transaction() as tx:
        insert_many(tx.connection(), DueWork.__table__, rows)  # type: ignore[arg-type]
    with db.transaction() as tx:
        stored = tx.scalars(select(DueWork).order_by(DueWork.id)).all()
        got = [(r.due_at, r.payload, r.created_at) for r in stored]
    assert got == [(r["due_at"], r["payload"], NOW) for r in rows]
    assert got[0][0] == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)  # BST is an hour ahead
