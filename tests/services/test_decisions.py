"""You said, we did, end to end on the store: a decision reaches everyone who answered its
questions once, in their language, and nobody else; the follow-up's replies are its record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.decisions.schema import DecisionSpec
from outreach.errors import BatchRefused, DecisionError
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition, load_text
from outreach.services.decisions import Decisions, all_results, questions_offered, results
from outreach.settings import Settings
from outreach.store import contacts, opinions
from outreach.store.database import Database
from outreach.store.models import AuditEntry, DecisionRecipient, Message, OutboxItem
from tests.services.conftest import Phone, add_contact, add_event, answered, commits, refusing

ENGLISH = "You said the bus fare was too much. We now pay it. Thank you."
WELSH = "Dywedoch fod tocyn bws yn costio gormod. Rydym nawr yn ei dalu. Diolch."


@pytest.fixture
def decisions(translated: Conversations, settings: Settings, clock: ManualClock) -> Decisions:
    return Decisions(translated.db, translated, settings=settings, clock=clock)


def decision(**changes: Any) -> DecisionSpec:
    values: dict[str, Any] = {
        "decision": "bus-fares",
        "title": "We pay bus fares",
        "text": {"en": ENGLISH, "cy": WELSH},
        "questions": [{"flow": "post-event-survey", "answer": "change", "event": "bc-march"}],
    }
    return DecisionSpec.model_validate(values | changes)


def slack_only(db: Database, user: str, *, at: datetime, language: str) -> int:
    """A contact reached only on Slack."""
    with db.transaction() as tx:
        return contacts.create(
            tx.connection(),
            "slack",
            user,
            {
                "language": language,
                "timezone": "Europe/London",
                "fields": {},
                "opted_out": False,
                "created_at": at,
                "updated_at": at,
            },
            {"status": "opted_in", "source": "import", "words": None, "at": at},
        ).id


def sent_bodies(db: Database) -> dict[int, list[str]]:
    with db.transaction() as tx:
        rows = tx.execute(
            select(Message.contact_id, Message.body)
            .where(Message.direction == "out", Message.status == "queued")
            .order_by(Message.id)
        ).all()
    out: dict[int, list[str]] = {}
    for contact_id, body in rows:
        out.setdefault(contact_id, []).append(body or "")
    return out


def test_a_decision_reaches_each_contributor_once_in_their_language_and_nobody_else(
    db: Database, decisions: Decisions, clock: ManualClock
) -> None:
    now = clock.now
    add_event(db, at=now)
    add_event(db, at=now, event_id="bc-april")
    english = add_contact(db, 1, at=now)
    welsh = add_contact(db, 2, at=now, language="cy")
    on_slack = slack_only(db, "UWELSH", at=now, language="cy")
    polish = add_contact(db, 4, at=now, language="pl")  # no Polish text: counted, not sent
    stopped = add_contact(db, 5, at=now)
    other_question = add_contact(db, 6, at=now)  # answered only how it was
    other_event = add_contact(db, 7, at=now)  # answered the same question about another event
    add_contact(db, 8, at=now)  # said nothing
    for person in (english, welsh, on_slack, polish, stopped):
        answered(db, person, "change", at=now, event="bc-march")
    answered(db, other_question, "rating", at=now, event="bc-march")
    answered(db, other_event, "change", at=now, event="bc-april")
    Phone(decisions.conversations, 5).text("STOP")

    preview = decisions.preview(decision())
    assert preview.preview.will_get == 3
    assert {p.language: p.people for p in preview.preview.languages} == {"cy": 2, "en": 1}
    assert preview.preview.will_not["opted_out"] == 1
    assert preview.no_text == {"pl": 1}

    done = decisions.send(decision(), source="test", actor="coordinator")
    assert (done.sent, done.not_sent) == (3, {"opted_out": 1, "no_text": 1, "unreachable": 0})
    bodies = sent_bodies(db)
    assert set(bodies) == {english, welsh, on_slack, stopped}  # stopped: the STOP receipt
    assert all(ENGLISH not in b for b in bodies.pop(stopped))
    assert set(bodies) == {english, welsh, on_slack}
    assert bodies[english][0].startswith(ENGLISH)
    assert bodies[welsh][0].startswith(WELSH) and bodies[on_slack][0].startswith(WELSH)
    assert all(ENGLISH not in b for p in (welsh, on_slack) for b in bodies[p])
    with db.transaction() as tx:
        channels = tx.execute(select(Message.contact_id, Message.channel)).all()
    assert {c for p, c in channels if p == on_slack} == {"slack"}  # on their own channel
    assert {c for p, c in channels if p == english} == {"sms"}

    again = decisions.send(decision(), source="test", actor="coordinator")
    assert again.sent == 0
    assert {k: v for k, v in sent_bodies(db).items() if k != stopped} == bodies
    assert decisions.preview(decision()).already_sent == 3
    with db.transaction() as tx:
        rows = {r.contact_id: r.outcome for r in tx.scalars(select(DecisionRecipient))}
        audit = list(tx.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    # recorded once (the same words twice), sent twice; the STOP is not a coordinator's act
    assert [a for a in audit if a.startswith("decision")] == [
        "decision-recorded",
        "decision-sent",
        "decision-sent",
    ]
    assert rows == {
        english: "sent",
        welsh: "sent",
        on_slack: "sent",
        polish: "no_text",
        stopped: "opted_out",
    }


def test_a_language_added_later_reaches_only_the_people_who_had_none(
    db: Database, decisions: Decisions, clock: ManualClock
) -> None:
    add_event(db, at=clock.now)
    english = add_contact(db, 1, at=clock.now)
    polish = add_contact(db, 2, at=clock.now, language="pl")
    for person in (english, polish):
        answered(db, person, "change", at=clock.now, event="bc-march")
    assert decisions.send(decision(), source="test", actor="c").sent == 1
    polish_text = {"en": ENGLISH, "pl": "Powiedzieliście, że bilet był za drogi. Płacimy."}
    assert decisions.send(decision(text=polish_text), source="test", actor="c").sent == 1
    bodies = sent_bodies(db)
    assert len(bodies[english]) == 1 and bodies[polish][0].startswith("Powiedzieliście")


def test_follow_up_replies_are_recorded_and_reported(
    db: Database, decisions: Decisions, translated: Conversations, clock: ManualClock
) -> None:
    add_event(db, at=clock.now)
    people = [add_contact(db, n, at=clock.now, language="cy" if n == 6 else "en") for n in range(7)]
    for person in people:
        answered(db, person, "change", at=clock.now, event="bc-march")
    spec = decision(follow_up=True)
    assert decisions.send(spec, source="test", actor="coordinator").sent == 7
    bodies = sent_bodies(db)
    assert bodies[people[0]][1].startswith("Does this feel right to you?")
    assert bodies[people[6]][1].startswith("Ydy hyn yn teimlo'n iawn i chi?")
    for n in range(5):
        Phone(translated, n).text("1")  # yes
    phone = Phone(translated, 5)
    phone.text("partly")
    phone.text("Evening sessions too, please")
    Phone(translated, 6).text("na")  # no, in Welsh

    found = results(db, "bus-fares")
    assert found.sent == 7
    # one Welsh speaker: hidden, and so is the English count it could be worked out from
    assert found.sent_by_language == {"en": "*", "cy": "<5"}
    assert found.replies == {"yes": 5, "partly": "<5", "no": "<5"}
    assert found.comments == "<5"
    assert [r.id for r in all_results(db, event="bc-march")] == ["bus-fares"]
    assert all_results(db, event="bc-april") == []


def test_a_second_decision_keeps_each_follow_up_reply_with_its_own_decision(
    db: Database, decisions: Decisions, translated: Conversations, clock: ManualClock
) -> None:
    add_event(db, at=clock.now)
    person = add_contact(db, 1, at=clock.now)
    answered(db, person, "change", at=clock.now, event="bc-march")
    answered(db, person, "helped", at=clock.now, event="bc-march")
    decisions.send(decision(follow_up=True), source="test", actor="c")
    phone = Phone(translated, 1)
    phone.text("yes")
    clock.advance(timedelta(days=1))
    later = decision(
        decision="step-free",
        questions=[{"flow": "post-event-survey", "step": "helped"}],
        follow_up=True,
    )
    decisions.send(later, source="test", actor="c")
    phone.text("no")
    assert results(db, "bus-fares").replies == {"yes": "<5"}
    assert results(db, "step-free").replies == {"no": "<5"}


def test_a_decision_sent_at_night_waits_for_the_morning_where_each_person_is(
    db: Database, shipped_flows: dict[str, FlowDefinition], settings: Settings
) -> None:
    clock = ManualClock(datetime(2026, 1, 12, 22, 0, tzinfo=UTC))  # 22:00 in London
    service = Conversations(db, Engine(shipped_flows), settings=settings, clock=clock)
    decisions = Decisions(db, service, settings=settings, clock=clock)
    add_event(db, at=clock.now)
    london = add_contact(db, 1, at=clock.now)
    answered(db, london, "change", at=clock.now, event="bc-march")
    decisions.send(decision(follow_up=True), source="test", actor="c")
    with db.transaction() as tx:
        times = list(tx.scalars(select(OutboxItem.not_before).order_by(OutboxItem.id)))
    assert times == [datetime(2026, 1, 13, 9, 0, tzinfo=UTC)] * 2  # the text and its question


def test_statements_that_do_not_exist_fail_plainly(
    db: Database, decisions: Decisions, clock: ManualClock
) -> None:
    spec = decision(statements=[3, "evening-opening"])
    with pytest.raises(DecisionError, match="do not exist: 3, evening-opening") as raised:
        decisions.send(spec, source="test", actor="c")
    assert "\n" not in str(raised.value)
    with db.transaction() as tx:
        assert tx.scalar(select(DecisionRecipient)) is None


def test_people_who_voted_on_its_statements_are_told_and_nobody_else(
    db: Database, decisions: Decisions, clock: ManualClock
) -> None:
    voter, other_voter, bystander = (add_contact(db, n, at=clock.now) for n in (1, 2, 3))
    writer = add_contact(db, 4, at=clock.now)
    with db.transaction() as tx:
        c = tx.connection()
        buses = opinions.add(
            c, conversation="bc-march", text="Buses", language="en", now=clock.now, approved_by="c"
        )
        parking = opinions.add(
            c,
            conversation="bc-march",
            text="Parking",
            language="en",
            now=clock.now,
            approved_by="c",
        )
        elsewhere = opinions.add(
            c, conversation="bc-june", text="Cafe", language="en", now=clock.now, approved_by="c"
        )
        opinions.add(
            c, conversation="bc-march", text="Mine", language="en", now=clock.now, contact_id=writer
        )
        opinions.vote(c, buses, voter, "agree", clock.now)
        opinions.vote(c, parking, other_voter, "pass", clock.now)
        opinions.vote(c, elsewhere, bystander, "disagree", clock.now)
    by_id = decision(decision="buses", questions=[], statements=[buses])
    assert decisions.send(by_id, source="test", actor="c").sent == 1
    assert set(sent_bodies(db)) == {voter}
    # A whole conversation's statements: everyone who voted on any of them, once each.
    by_name = decision(decision="march", questions=[], statements=["bc-march", buses])
    assert decisions.send(by_name, source="test", actor="c").sent == 2
    assert decisions.send(by_name, source="test", actor="c").sent == 0
    assert set(sent_bodies(db)) == {voter, other_voter}


def test_an_erased_person_is_not_told(
    db: Database, decisions: Decisions, clock: ManualClock
) -> None:
    add_event(db, at=clock.now)
    person = add_contact(db, 1, at=clock.now)
    answered(db, person, "change", at=clock.now, event="bc-march")
    with db.transaction() as tx:
        contacts.mark_erased(tx.connection(), person, clock.now)
    assert decisions.send(decision(), source="test", actor="c").sent == 0
    assert sent_bodies(db) == {}


def test_a_web_decision_may_not_take_a_file_decisions_id(
    decisions: Decisions,
) -> None:
    decisions.record(decision(), source="flows/decisions/bus.yaml", actor="c")
    with pytest.raises(DecisionError, match="choose another id"):
        decisions.record(decision(), source="web", actor="c")


def contributors(db: Database, clock: ManualClock, people: int) -> list[int]:
    """``people`` people who answered the decision's question, every third Welsh."""
    add_event(db, at=clock.now)
    ids = []
    for n in range(people):
        ids.append(add_contact(db, n, at=clock.now, language="cy" if n % 3 == 2 else "en"))
        answered(db, ids[-1], "change", at=clock.now, event="bc-march")
    return ids


def told_and_asked(db: Database) -> dict[int, list[str]]:
    """What each person was sent (each text's first sentence or line): the decision's
    text, then the follow-up's question."""
    return {
        person: [re.split(r"[.\n]", body)[0] for body in bodies]
        for person, bodies in sent_bodies(db).items()
    }


def test_a_follow_up_goes_to_a_batch_of_people_in_one_transaction(
    db: Database, decisions: Decisions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("outreach.services.decisions.BATCH", 10)
    people = contributors(db, clock, 25)
    with commits(db) as committed:
        assert decisions.send(decision(follow_up=True), source="test", actor="c").sent == 25
    # Three batches of people, and the record, the audience and the audit around them:
    # not a transaction a person.
    assert len(committed) <= 7, len(committed)
    sent = told_and_asked(db)
    assert sorted(sent) == people
    for n, person in enumerate(people):
        english = n % 3 != 2
        assert sent[person] == (
            ["You said the bus fare was too much", "Does this feel right to you?"]
            if english
            else ["Dywedoch fod tocyn bws yn costio gormod", "Ydy hyn yn teimlo'n iawn i chi?"]
        )
    with db.transaction() as tx:
        asked = tx.scalars(
            select(DecisionRecipient.contact_id).where(DecisionRecipient.session_id.is_not(None))
        )
        assert sorted(asked) == people  # each one's follow-up is kept with the decision


def test_a_person_who_cannot_be_asked_stops_the_send_and_nothing_is_sent_twice(
    db: Database, decisions: Decisions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("outreach.services.decisions.BATCH", 10)
    people = contributors(db, clock, 25)
    refused = people[13]  # in the second batch: the first is stored, then the rest of the
    # second up to them, each on their own
    with refusing(db, "sessions", refused), pytest.raises((DBAPIError, BatchRefused)):
        decisions.send(decision(follow_up=True), source="test", actor="c")
    assert sorted(told_and_asked(db)) == people[:13]
    assert all(len(said) == 2 for said in told_and_asked(db).values())

    # Once the database takes them, sending again tells the rest, and nobody twice.
    assert decisions.send(decision(follow_up=True), source="test", actor="c").sent == 12
    sent = told_and_asked(db)
    assert sorted(sent) == people
    assert all(len(said) == 2 for said in sent.values())


def test_a_long_question_is_offered_shortened_between_words() -> None:
    long = "Thinking of the evening sessions, " * 8 + "what would you change?"
    flow = load_text(
        "version: 1\nflow: long\ndescription: A long question.\nsteps:\n"
        f"  - id: ask\n    send: {long}\n    ask: text\n    save_as: change\n"
        "    next: end\n  - id: end\n    end: true\n"
    )
    [offered] = questions_offered({"long": flow})
    assert offered.value == "long:change"
    assert offered.asked.endswith(" sessions …") and len(offered.asked) <= 142
    assert long.startswith(offered.asked.removesuffix(" …"))
