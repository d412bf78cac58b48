"""Conversations on the real store: one transaction per event, consent, timers, ordering."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations, Inbound
from outreach.flows.engine import Engine
from outreach.flows.loader import load_text
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.settings import Settings
from outreach.store.consent import consent_status, refusal
from outreach.store.database import Database
from outreach.store.models import (
    Answer,
    ConsentEvent,
    Contact,
    ContactAddress,
    ConversationSession,
    DueWork,
    Handoff,
    Message,
    OutboxItem,
    Rsvp,
)
from tests.conftest import ROOT, mobile
from tests.services.conftest import Phone, add_contact, add_event, contact_at, count, fire_due


def outbound(db: Database, contact_id: int) -> list[Message]:
    with db.transaction() as tx:
        return list(
            tx.scalars(
                select(Message)
                .where(Message.contact_id == contact_id, Message.direction == "out")
                .order_by(Message.id)
            )
        )


def session_of(db: Database, contact_id: int) -> ConversationSession:
    with db.transaction() as tx:
        row = tx.scalar(
            select(ConversationSession)
            .where(ConversationSession.contact_id == contact_id)
            .order_by(ConversationSession.id.desc())
        )
        assert row is not None
        return row


def test_flow_run_leaves_answers_log_outbox_and_state(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now, first_name="Amina")
    event_id = add_event(db, at=clock.now)
    service.start(cid, "big-conversation-invite", event_id=event_id)
    phone = Phone(service)
    phone.text("Yes!")
    phone.text("I use a wheelchair")

    with db.transaction() as tx:
        answers = {a.name: (a.raw, a.value, a.kind) for a in tx.scalars(select(Answer))}
        rsvp = tx.scalar(select(Rsvp.status).where(Rsvp.contact_id == cid))
    assert answers == {
        "rsvp": ("Yes!", "yes", "choice"),
        "access_needs": ("I use a wheelchair", "I use a wheelchair", "text"),
    }
    assert rsvp == "yes"
    sent = outbound(db, cid)
    assert [m.kind for m in sent] == ["message", "question", "question", "message"]
    assert sent[0].body is not None and sent[0].body.startswith("Hi Amina, you're invited")
    assert "Riverside Centre" in (sent[0].body or "")
    assert sent[-1].body is not None and sent[-1].body.startswith("Thank you, see you on")
    assert all(m.status == "queued" and m.segments and m.encoding == "GSM-7" for m in sent)
    assert count(db, OutboxItem) == 4
    with db.transaction() as tx:  # the record reads in the order things happened
        directions = list(tx.scalars(select(Message.direction).order_by(Message.id)))
    assert directions == ["out", "out", "in", "out", "in", "out"]
    row = session_of(db, cid)
    assert (row.status, row.end_reason, row.event_id) == ("ended", "completed", event_id)
    assert count(db, DueWork) == 0  # the finished conversation has no timers left


def test_failure_in_the_middle_leaves_nothing(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    before = (count(db, Message), count(db, OutboxItem), count(db, DueWork))

    inserts: list[str] = []

    def explode(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        # (On PostgreSQL a message and its outbox row go in one statement, a CTE.)
        inserts.extend(re.findall(r"INSERT INTO (\w+)", statement))
        # Timers are written last: by then the inbound message, the answer, the next
        # question and its outbox row have all been written.
        if inserts and inserts[-1] == "due_work":
            raise RuntimeError("disk full")

    sa_event.listen(db.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            Phone(service).text("yes")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", explode)
    assert {"messages", "answers", "outbox"} <= set(inserts)  # written, then rolled back
    assert (count(db, Message), count(db, OutboxItem), count(db, DueWork)) == before
    assert count(db, Answer) == 0
    row = session_of(db, cid)
    assert (row.status, row.step) == ("waiting", "invite")
    # and the same message, delivered again, now goes through
    Phone(service).text("yes", sid="SMretry")
    assert session_of(db, cid).step == "access"


def test_retried_webhook_is_processed_once(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    phone = Phone(service)
    first = phone.text("yes", sid="SM1")
    again = phone.text("yes", sid="SM1")
    assert (first.status, again.status) == ("processed", "duplicate")
    assert again.message_id == first.message_id
    assert count(db, Answer) == 1
    assert count(db, Message, Message.direction == "in") == 1


def test_unknown_number_texting_join_is_registered(db: Database, service: Conversations) -> None:
    Phone(service, 7).text("JOIN")
    with db.transaction() as tx:
        contact = contact_at(tx, mobile(7))
        assert contact is not None
        assert consent_status(tx, contact.id) == "opted_in"
        cid = contact.id
    assert outbound(db, cid)[0].body == (
        "Welcome to the Big Conversation! We plan local health services together with the "
        "people who use them. What is your first name?"
    )


def test_text_with_nothing_waiting_is_flagged_for_a_human(
    db: Database, service: Conversations
) -> None:
    Phone(service).text("Is the meeting still on?")
    with db.transaction() as tx:
        assert tx.scalar(select(Handoff.reason)) == "unhandled"


_VOCABULARY = Vocabulary(Catalogs(ROOT / "locales"))
STOP_CASES = [
    (language, (_VOCABULARY.words(language, "stop") or _VOCABULARY.english("stop"))[0])
    for language in _VOCABULARY.languages()
]


@pytest.mark.parametrize("mid_flow", [True, False], ids=["mid-flow", "no-flow"])
@pytest.mark.parametrize(("language", "word"), STOP_CASES, ids=[c[0] for c in STOP_CASES])
def test_stop_in_any_language_opts_out_once(
    db: Database,
    service: Conversations,
    clock: ManualClock,
    language: str,
    word: str,
    mid_flow: bool,
) -> None:
    cid = add_contact(db, at=clock.now, language=language)
    if mid_flow:
        service.start(cid, "big-conversation-invite")
    phone = Phone(service)
    phone.text(f"  {word.upper()}!! ")
    phone.text(word)  # a second stop: no second confirmation

    with db.transaction() as tx:
        contact = tx.get(Contact, cid)
        assert contact is not None and contact.opted_out
        assert consent_status(tx, cid) == "opted_out"
        assert refusal(contact.opted_out, contact.erased_at, None, None) == "opted-out"
        events = tx.scalars(select(ConsentEvent).where(ConsentEvent.status == "opted_out")).all()
        assert events[0].source == "keyword" and events[0].words == f"  {word.upper()}!! "
        queued = tx.scalars(select(OutboxItem)).all()
    assert [(q.consent_exempt, q.urgent) for q in queued] == [(True, False)]  # the receipt alone
    sent = outbound(db, cid)
    receipts = [m for m in sent if m.kind == "system"]
    assert len(receipts) == 1 and "START" in (receipts[0].body or "")  # in their language
    if mid_flow:
        assert sent[0].status == "cancelled"  # the invitation had not gone out yet
        row = session_of(db, cid)
        assert (row.status, row.end_reason) == ("ended", "opted-out")
    assert count(db, DueWork) == 0

    service.start(cid, "you-said-we-did")  # a coordinator's send later on
    assert outbound(db, cid)[-1].status == "suppressed"
    assert count(db, OutboxItem) == 1


def test_sentence_with_stop_in_it_is_flagged_not_opted_out(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "post-event-survey")
    phone = Phone(service)
    phone.text("4")
    phone.text("2")
    phone.text("I can't stop thinking about how welcoming it was")
    with db.transaction() as tx:
        contact = tx.get(Contact, cid)
        assert contact is not None and not contact.opted_out
        assert tx.scalar(select(Handoff.reason)) == "possible-opt-out"
        assert tx.scalar(select(Answer.value).where(Answer.name == "change")) == (
            "I can't stop thinking about how welcoming it was"
        )


def test_start_opts_back_in_and_help_always_answers(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    phone = Phone(service)
    phone.text("STOP")
    phone.text("help")
    phone.text("Start")
    with db.transaction() as tx:
        assert consent_status(tx, cid) == "opted_in"
    bodies = [m.body or "" for m in outbound(db, cid)]
    assert bodies[0].startswith("You won't get any more messages from the Big Conversation team")
    assert bodies[1].startswith("This is the Big Conversation team") and "STOP" in bodies[1]
    assert bodies[2].startswith("Welcome back")


def test_lang_reopens_the_language_menu_and_changes_language(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    phone = Phone(service)
    phone.text("IAITH")
    assert "Which language" in (outbound(db, cid)[-1].body or "")
    phone.text("2")
    with db.transaction() as tx:
        contact = tx.get(Contact, cid)
        assert contact is not None and contact.language == "cy"
    assert session_of(db, cid).end_reason == "completed"


def test_reminder_and_timeout_fire_when_due(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now, first_name="Grace")
    service.start(cid, "big-conversation-invite")
    clock.advance(timedelta(hours=47))
    assert fire_due(service) == 0
    clock.advance(timedelta(hours=1))
    assert fire_due(service) == 1
    assert outbound(db, cid)[-1].kind == "reminder"
    clock.advance(timedelta(days=3))
    assert fire_due(service) == 1
    with db.transaction() as tx:
        assert tx.scalar(select(Contact).where(Contact.id == cid)) is not None
        tags = tx.execute(select(ConversationSession.end_reason)).scalars().all()
    assert tags == ["completed"]
    assert count(db, DueWork) == 0


def test_stale_timer_after_an_answer_does_nothing(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    with db.transaction() as tx:
        reminder = tx.scalar(select(DueWork.id).where(DueWork.kind == "reminder"))
    Phone(service).text("yes")
    assert reminder is not None and service.fire(reminder) is False
    assert [m.kind for m in outbound(db, cid)] == ["message", "question", "question"]


SEQUENCE = (
    """
version: 1
flow: five
description: Five questions in a row, to show replies are handled one at a time.
steps:
"""
    + "".join(
        f"""
  - id: q{i}
    send: Question {i}?
    ask: text
    save_as: a{i}
    next: {f"q{i + 1}" if i < 5 else "done"}
"""
        for i in range(1, 6)
    )
    + """
  - id: done
    send: All done
"""
)


def test_messages_from_one_person_are_handled_one_at_a_time(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    definition = load_text(SEQUENCE)
    service = Conversations(db, Engine({"five": definition}), settings=settings, clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "five")
    gate = threading.Barrier(5)
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            gate.wait()
            service.receive(Inbound("tel", mobile(0), f"answer {i}", f"SMpar{i}"))
        except BaseException as exc:  # report it in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with db.transaction() as tx:
        steps = sorted(tx.scalars(select(Answer.step)))
    assert steps == ["q1", "q2", "q3", "q4", "q5"]  # each reply answered the next question
    assert outbound(db, cid)[-1].body == "All done"
    assert session_of(db, cid).end_reason == "completed"


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_locked_person_does_not_hold_up_another(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    first = add_contact(db, 0, at=clock.now)
    second = add_contact(db, 1, at=clock.now)
    service.start(first, "big-conversation-invite")
    service.start(second, "big-conversation-invite")
    holding = threading.Event()
    release = threading.Event()

    def hold_first() -> None:
        with db.transaction() as tx:
            tx.scalar(select(Contact).where(Contact.id == first).with_for_update())
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        done = threading.Event()
        worker = threading.Thread(target=lambda: (Phone(service, 1).text("yes"), done.set()))
        worker.start()
        assert done.wait(timeout=10), "the second person waited for the first one's lock"
        worker.join()
    finally:
        release.set()
        holder.join()
    assert session_of(db, second).step == "access"
    assert session_of(db, first).step == "invite"


def test_slack_user_gets_messages_on_slack(
    db: Database, service: Conversations, tmp_path: Path
) -> None:
    service.receive(Inbound("slack", "U024BE7LH", "join", "1700000000.000100"))
    with db.transaction() as tx:
        contact = contact_at(tx, "U024BE7LH")
        assert contact is not None
        schemes = set(
            tx.scalars(select(ContactAddress.scheme).where(ContactAddress.contact_id == contact.id))
        )
        assert schemes == {"slack"}  # no phone number
        channels = set(
            tx.scalars(
                select(ContactAddress.scheme).join(
                    OutboxItem, OutboxItem.address_id == ContactAddress.id
                )
            )
        )
    assert channels == {"slack"}
