"""Flow starts after an invitation, a batch at a time: everyone invited gets their first
message once, in their language, in far fewer transactions than people; one person whose
start cannot be done does not hold up the others, and is done later, not lost."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, select

from outreach.clock import ManualClock
from outreach.flows.loader import FlowDefinition
from outreach.services.flows import build_engine
from outreach.settings import Settings
from outreach.store import contacts
from outreach.store.database import Database
from outreach.store.models import DueWork, Message, OutboxItem
from tests.services.conftest import commits, refusing
from tests.services.test_events import Town

PEOPLE = 30


@pytest.fixture
def town(
    db: Database, shipped_flows: dict[str, FlowDefinition], settings: Settings, t0: datetime
) -> Town:
    """The events' town, with an engine that speaks every language of the catalogs."""
    return Town(db, build_engine(settings, shipped_flows), settings, ManualClock(t0))


def in_outbox(db: Database, *where: ColumnElement[bool]) -> dict[int, list[str]]:
    """The bodies of the messages in the outbox that match ``where``, by person."""
    found: dict[int, list[str]] = {}
    with db.transaction() as tx:
        rows = tx.execute(
            select(Message.contact_id, Message.body)
            .join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(*where)
        )
        for contact_id, body in rows:
            found.setdefault(contact_id, []).append(body)
    return found


def invitations(db: Database) -> dict[int, list[str]]:
    """The invitations in the outbox (the flow's first message), by person."""
    return in_outbox(db, Message.step == "invitation")


def invite_town(town: Town) -> dict[int, str]:
    """``PEOPLE`` people in the audience, every third Welsh; invited. Their languages."""
    languages = {}
    for n in range(1, PEOPLE + 1):
        language = "cy" if n % 3 == 0 else "en"
        languages[town.person(n, f"P{n}", "mental-health", language=language)] = language
    assert town.events.invite("bc-mental-health") == PEOPLE
    return languages


def run_in_a_few_transactions(town: Town, kind: str) -> None:
    """The worker does all ``PEOPLE`` rows of ``kind`` due now: claim, do the batch, find
    nothing more, in each of PostgreSQL's two due-work threads (when both claim at once, each
    takes part of the rows). A handful of transactions for thirty people, and nothing left."""
    with commits(town.db) as committed:
        assert town.runner.run() == {kind: PEOPLE}
    assert len(committed) <= 6
    assert town.runner.run() == {}


def test_a_batch_of_invited_people_each_get_one_invitation_in_their_language(
    town: Town,
) -> None:
    languages = invite_town(town)
    run_in_a_few_transactions(town, "start")

    sent = invitations(town.db)
    assert sorted(sent) == sorted(languages)
    assert all(len(bodies) == 1 for bodies in sent.values())
    for contact_id, (body,) in sent.items():
        welsh = body.startswith("Helo P")
        assert welsh == (languages[contact_id] == "cy"), body
    with town.db.transaction() as tx:  # and each waits for their answer, with a reminder
        reminders = Counter(
            tx.scalars(select(DueWork.contact_id).where(DueWork.kind == "reminder"))
        )
    assert reminders == Counter(dict.fromkeys(languages, 1))


def test_people_whose_start_fails_do_not_stop_the_rest_of_their_batch(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    languages = invite_town(town)
    ids = sorted(languages)
    # One person's time zone is nonsense (the engine cannot date their invitation), and the
    # database refuses another's conversation (the whole batch's writes fail with it).
    unknown_zone, refused = ids[4], ids[17]
    with town.db.transaction() as tx:
        contacts.update_contact(tx.connection(), unknown_zone, {"timezone": "Mars/Olympus"})
    with refusing(town.db, "sessions", refused), caplog.at_level(logging.ERROR):
        assert town.runner.run() == {"start": PEOPLE}
    assert sorted(invitations(town.db)) == [i for i in ids if i not in (unknown_zone, refused)]
    failed = {r.getMessage() for r in caplog.records if "will be tried again" in r.getMessage()}
    assert len(failed) == 2, failed  # each logged, with its due-work row

    # Nothing is lost: once the person's record is put right and the lease runs out, the
    # worker starts both, each once.
    with town.db.transaction() as tx:
        contacts.update_contact(tx.connection(), unknown_zone, {"timezone": "Europe/London"})
    town.clock.advance(timedelta(minutes=3))
    assert town.runner.sweep() == 2
    assert town.runner.run() == {"start": 2}
    sent = invitations(town.db)
    assert sorted(sent) == ids
    assert all(len(bodies) == 1 for bodies in sent.values())
