"""Reminders and timeouts, fired by the worker a batch at a time: everyone waiting is
reminded once, in their language, in far fewer transactions than people; one person whose
reminder cannot be stored does not hold up the others, and is reminded later, not lost."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from outreach.store.database import Database
from outreach.store.models import DueWork, Message
from tests.services.conftest import refusing
from tests.services.test_events import Town
from tests.services.test_flow_starts import (
    PEOPLE,
    in_outbox,
    invite_town,
    run_in_a_few_transactions,
)
from tests.services.test_flow_starts import town as town  # the fixture


def reminded(db: Database) -> dict[int, list[str]]:
    """The reminders in the outbox, by person."""
    return in_outbox(db, Message.kind == "reminder")


def timers(db: Database, kind: str) -> Counter[int]:
    with db.transaction() as tx:
        return Counter(tx.scalars(select(DueWork.contact_id).where(DueWork.kind == kind)))


def reminder_time(db: Database) -> datetime:
    with db.transaction() as tx:
        when = tx.scalar(select(func.max(DueWork.due_at)).where(DueWork.kind == "reminder"))
    assert when is not None
    return when


def invited_and_waiting(town: Town) -> dict[int, str]:
    languages = invite_town(town)
    assert town.runner.run() == {"start": PEOPLE}
    return languages


def test_everyone_waiting_is_reminded_once_in_their_language_in_a_few_transactions(
    town: Town,
) -> None:
    languages = invited_and_waiting(town)
    town.clock.now = reminder_time(town.db)
    run_in_a_few_transactions(town, "reminder")

    sent = reminded(town.db)
    assert sorted(sent) == sorted(languages)
    assert all(len(bodies) == 1 for bodies in sent.values())
    for contact_id, (body,) in sent.items():
        english = body.startswith("Hi P")
        assert english == (languages[contact_id] == "en"), body
    # Each still waits for an answer, and will be let go when the flow says so.
    assert timers(town.db, "timeout") == Counter(dict.fromkeys(languages, 1))
    assert timers(town.db, "reminder") == Counter()


def test_a_timer_asked_for_twice_still_reminds_once(town: Town) -> None:
    """A person with two rows for the same reminder in one batch: the second is fired
    after the first is stored, and finds it done."""
    languages = invited_and_waiting(town)
    twice = sorted(languages)[7]
    with town.db.transaction() as tx:
        row = tx.execute(
            select(DueWork.__table__).where(DueWork.contact_id == twice, DueWork.kind == "reminder")
        ).one()
        tx.execute(insert(DueWork), {**row._asdict(), "id": None})
    town.clock.now = reminder_time(town.db)
    assert town.runner.run() == {"reminder": PEOPLE + 1}
    sent = reminded(town.db)
    assert sorted(sent) == sorted(languages)
    assert all(len(bodies) == 1 for bodies in sent.values())


def test_a_reminder_that_cannot_be_stored_does_not_stop_the_rest_of_its_batch(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    languages = invited_and_waiting(town)
    ids = sorted(languages)
    refused = ids[11]
    town.clock.now = reminder_time(town.db)

    with refusing(town.db, "messages", refused), caplog.at_level(logging.ERROR):
        assert town.runner.run() == {"reminder": PEOPLE}
    assert sorted(reminded(town.db)) == [i for i in ids if i != refused]
    failed = [r.getMessage() for r in caplog.records if "will be tried again" in r.getMessage()]
    assert len(failed) == 1, failed

    # Nothing is lost: once the database takes it and the lease runs out, the worker
    # reminds them, once.
    town.clock.advance(timedelta(minutes=3))
    assert town.runner.sweep() == 1
    assert town.runner.run() == {"reminder": 1}
    sent = reminded(town.db)
    assert sorted(sent) == ids
    assert all(len(bodies) == 1 for bodies in sent.values())
