"""Statements end to end, on SQLite and PostgreSQL: people vote by text through the
statements step, their own statements wait for a coordinator, and the consensus report finds
exactly the common ground and the divisions planted in 200 synthetic participants."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition, load_text
from outreach.flows.state import Session as EngineSession
from outreach.services.statements import Statements
from outreach.settings import Settings
from outreach.store import opinions, sessions
from outreach.store.database import Database
from outreach.store.models import Message, Statement
from tests.conftest import ROOT
from tests.services.conftest import Phone, add_contact, add_event, count

GROUPS = ("patient", "carer", "vcse", "professional")
CONSENSUS = {1, 2, 3, 4}  # every group agrees
REJECTED = {5}  # every group disagrees
DIVISIVE = {6, 7, 8, 9}  # patients and carers agree; VCSE and professionals disagree
STATEMENTS = 30
PEOPLE = 200


def _all_statements_flow(shipped: dict[str, FlowDefinition]) -> Engine:
    """The shipped common-ground flow, asking about every statement instead of five."""
    text = (ROOT / "flows" / "common-ground.yaml").read_text(encoding="utf-8")
    text = text.replace("flow: common-ground", "flow: common-ground-all")
    text = text.replace("count: 5", f"count: {STATEMENTS}")
    variant = load_text(text, path="common-ground-all.yaml")
    return Engine({**shipped, variant.id: variant})


def _shown(db: Database, contact_id: int) -> int | None:
    """The statement the person's conversation is waiting on a vote for."""
    with db.transaction() as tx:
        row = sessions.waiting(tx.connection(), contact_id)
    if row is None or row.state is None:
        return None
    wait = EngineSession.from_json(row.state).wait
    return wait.statement if wait else None


def _planted_vote(rng: random.Random, position: int, group: str) -> str:
    """What a person of ``group`` replies to the statement seeded at ``position``."""
    roll = rng.random()
    if position in CONSENSUS or (position in DIVISIVE and group in ("patient", "carer")):
        return "1" if roll < 0.85 else ("2" if roll < 0.92 else "3")
    if position in REJECTED or position in DIVISIVE:
        return "2" if roll < 0.85 else ("1" if roll < 0.92 else "3")
    return ("1", "2", "3")[int(roll * 3)]


def test_report_lists_exactly_the_planted_consensus_and_division(
    db: Database, clock: ManualClock, t0: datetime
) -> None:
    # Votes go straight to the store here (6,000 of them); the test below and the golden
    # transcripts take votes through the statements step itself.
    event = add_event(db, at=t0)
    desk = Statements(db, clock=clock)
    ids = [
        desk.add(event, f"Statement number {n} about local services.", language="en", by="lead")
        for n in range(1, STATEMENTS + 1)
    ]
    rng = random.Random(18)
    words = {"1": "agree", "2": "disagree", "3": "pass"}
    people = [
        (add_contact(db, n, at=t0, fields={"role": GROUPS[n % 4]}), GROUPS[n % 4])
        for n in range(PEOPLE)
    ]
    with db.transaction() as tx:
        c = tx.connection()
        for cid, group in people:
            for n, statement in enumerate(ids, start=1):
                opinions.vote(c, statement, cid, words[_planted_vote(rng, n, group)], t0)
    position = {statement: n for n, statement in enumerate(ids, start=1)}

    found = desk.common_ground(event, groups="role")

    assert found.groups == tuple(sorted(GROUPS))
    assert {position[s.id] for s in found.consensus if s.direction == "agree"} == CONSENSUS
    assert {position[s.id] for s in found.consensus if s.direction == "disagree"} == REJECTED
    assert {position[s.id] for s in found.divisive} == DIVISIVE
    distinctive = {g: {position[s.id] for s in items} for g, items in found.distinctive.items()}
    assert set(distinctive) == set(GROUPS)
    assert all(found <= DIVISIVE for found in distinctive.values())
    assert [g.seen for g in found.statements[0].groups] == [50, 50, 50, 50]


def test_people_vote_through_the_flow_fewest_votes_first_never_twice(
    db: Database,
    shipped_flows: dict[str, FlowDefinition],
    settings: Settings,
    clock: ManualClock,
    t0: datetime,
) -> None:
    engine = _all_statements_flow(shipped_flows)
    service = Conversations(db, engine, settings=settings, clock=clock)
    event = add_event(db, at=t0)
    desk = Statements(db, clock=clock)
    ids = [desk.add(event, f"Statement {n}.", language="en", by="lead") for n in range(6)]
    for n in range(4):
        cid = add_contact(db, n, at=t0, fields={"role": GROUPS[n]})
        assert service.start(cid, "common-ground-all", event_id=event)
        phone, seen = Phone(service, n), []
        while (shown := _shown(db, cid)) is not None:
            seen.append(shown)
            phone.text("1" if n < 2 else "disagree")
        assert sorted(seen) == ids  # every statement once
        if n == 1:
            assert seen[0] == ids[0]  # all had one vote: the oldest first
    rows = desk.listing(conversation=event)
    assert [r.votes for r in rows] == [4] * 6


def test_own_statement_is_shown_to_nobody_until_approved(
    db: Database, service: Conversations, clock: ManualClock, t0: datetime
) -> None:
    event = add_event(db, at=t0)
    desk = Statements(db, clock=clock)
    seeded = desk.add(event, "Evening appointments would help.", language="en", by="lead")
    author = add_contact(db, 0, at=t0)
    service.start(author, "common-ground", event_id=event)
    author_phone = Phone(service, 0)
    author_phone.text("NEW The clinic should open on Saturdays")
    mine = desk.listing(status="pending")
    assert [(s.text, s.written_by_a_person) for s in mine] == [
        ("The clinic should open on Saturdays", True)
    ]

    for n in range(1, 6):  # others vote while it waits: never asked about it
        cid = add_contact(db, n, at=t0)
        service.start(cid, "common-ground", event_id=event)
        assert _shown(db, cid) == seeded
        Phone(service, n).text("1")
        assert _shown(db, cid) is None
    assert count(db, Message, Message.body.like("%Saturdays%"), Message.direction == "out") == 0

    desk.moderate(mine[0].id, "approved", by="lead")
    late = add_contact(db, 9, at=t0)
    service.start(late, "common-ground", event_id=event)
    assert _shown(db, late) == mine[0].id  # no votes yet: it is offered first
    author_phone.text("1")  # the author is never asked about their own
    assert _shown(db, author) is None
    assert count(db, Statement, Statement.status == "approved") == 2


@pytest.mark.parametrize("reply", ["NEW " + "x" * 300])
def test_own_statement_too_long_is_refused_and_not_kept(
    db: Database, service: Conversations, clock: ManualClock, t0: datetime, reply: str
) -> None:
    event = add_event(db, at=t0)
    Statements(db, clock=clock).add(event, "Evening appointments.", language="en", by="lead")
    cid = add_contact(db, 0, at=t0)
    service.start(cid, "common-ground", event_id=event)
    received = Phone(service, 0).text(reply)
    assert "under 280 characters" in received.queued[0].content.text
    assert count(db, Statement) == 1


def test_erasing_the_author_clears_their_statement_and_keeps_the_votes(
    db: Database, service: Conversations, clock: ManualClock, t0: datetime
) -> None:
    from outreach.services.privacy import erase_contact
    from tests.conftest import mobile

    event = add_event(db, at=t0)
    desk = Statements(db, clock=clock)
    desk.add(event, "Evening appointments would help.", language="en", by="lead")
    author = add_contact(db, 0, at=t0)
    service.start(author, "common-ground", event_id=event)
    Phone(service, 0).text("NEW My street floods every winter")
    own = desk.listing(status="pending")[0].id
    desk.moderate(own, "approved", by="lead")
    voter = add_contact(db, 1, at=t0)
    with db.transaction() as tx:
        opinions.vote(tx.connection(), own, voter, "agree", t0)

    erase_contact(db, mobile(0))

    [kept] = [s for s in desk.listing() if s.id == own]
    assert (kept.text, kept.votes) == ("", 1)
    newcomer = add_contact(db, 2, at=t0)
    with db.transaction() as tx:
        offered = opinions.offers(tx.connection(), event, newcomer, "en")
    assert own not in [o.id for o in offered]  # words nobody has any more are not asked
