"""A person's own language end to end on the store: the shipped event's invitation wholly in
Welsh, a request for a person in Welsh, free text kept in a survey."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.conversations.handoffs import TeamSide
from outreach.conversations.service import Conversations
from outreach.events.library import load_event_text
from outreach.flows.engine import Engine
from outreach.services.events import Events
from outreach.services.flows import load_events
from outreach.services.runtime import due_work
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Answer, ContactTag, ConversationSession, Handoff, Message
from tests.conftest import ROOT
from tests.services.conftest import Phone, add_contact

SHIPPED_EVENT = "mental-health-2027-01"


def bodies(db: Database, contact_id: int) -> list[str]:
    with db.transaction() as tx:
        return [
            m.body or ""
            for m in tx.scalars(
                select(Message)
                .where(Message.contact_id == contact_id, Message.direction == "out")
                .order_by(Message.id)
            )
        ]


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[^\W\d_]+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_the_shipped_events_welsh_invitation_has_no_english_sentence(
    translated: Conversations, settings: Settings
) -> None:
    service, db, clock = translated, translated.db, translated.clock
    assert isinstance(clock, ManualClock)
    shipped = load_events(settings, service.engine.flows)
    events = Events(db, service, shipped, settings=settings, clock=clock)
    people = {}
    for n, language in ((1, "cy"), (2, "en")):
        people[language] = add_contact(db, n, at=clock.now, first_name="Bronwen", language=language)
        with db.transaction() as tx:
            tx.add(ContactTag(contact_id=people[language], tag="mental-health"))
    assert events.invite(SHIPPED_EVENT) == 2
    due_work(db, service, events, clock=clock).run()

    welsh, english = bodies(db, people["cy"]), bodies(db, people["en"])
    assert len(welsh) == len(english) == 2  # the invitation, then its question
    shared = trigrams(" ".join(english)) & trigrams(" ".join(welsh))
    assert not shared, f"English in the Welsh invitation: {shared}"
    for phrase in ("mental health", "Riverside", "We pay", "travel", "cash", "Can you come"):
        assert phrase.lower() not in " ".join(welsh).lower()
    assert "Canolfan Gymuned Glan yr Afon" in welsh[0] and "£25" in welsh[1]

    Phone(service, 1).text("ie")  # and she is understood in Welsh
    with db.transaction() as tx:
        assert tx.scalar(select(Answer.value).where(Answer.contact_id == people["cy"])) == "yes"


def test_asking_for_a_person_opens_one_handoff_and_is_answered_in_their_language(
    translated: Conversations, db: Database, clock: ManualClock
) -> None:
    service = translated
    cid = add_contact(db, at=clock.now, language="cy")
    service.start(cid, "big-conversation-invite")
    phone = Phone(service)
    phone.text("Helo, ga i siarad â rhywun?")
    clock.advance(timedelta(minutes=5))
    phone.text("Ffoniwch fi plis")  # asked again: still one handoff, confirmed again
    with db.transaction() as tx:
        handoffs = tx.scalars(select(Handoff)).all()
        session = tx.scalar(select(ConversationSession))
    assert [(h.reason, h.status, h.contact_id) for h in handoffs] == [("human", "open", cid)]
    assert handoffs[0].session_id == (session.id if session else None)
    assert handoffs[0].message_id is not None
    said = bodies(db, cid)[-2:]
    assert said == ["Diolch. Bydd rhywun yn cysylltu â chi cyn bo hir ar ran y Sgwrs Fawr."] * 2
    assert session is not None and session.status == "waiting"  # the invitation still stands
    phone.text("ie")  # while the handoff is open, her texts go to the team, not the flow
    with db.transaction() as tx:
        assert tx.scalar(select(Answer.value).where(Answer.name == "rsvp")) is None
    TeamSide(db, service.sender, clock=clock).resolve(handoffs[0].id, by="coordinator")
    phone.text("ie")  # resolved: the invitation goes on
    with db.transaction() as tx:
        assert tx.scalar(select(Answer.value).where(Answer.name == "rsvp")) == "yes"


def test_a_survey_answer_that_fits_no_option_is_kept_in_their_own_words(
    db: Database, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    service = Conversations(db, engine, settings=settings, clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "post-event-survey")
    phone = Phone(service)
    phone.text("4")
    phone.text("more meetings like this")
    with db.transaction() as tx:
        helped = tx.scalar(select(Answer).where(Answer.name == "helped"))
    assert helped is not None
    assert (helped.raw, helped.value) == ("more meetings like this", "more meetings like this")
    assert bodies(db, cid)[-1].startswith("What one thing should we change")  # not asked again


def test_giving_the_venue_in_another_language_does_not_move_the_event(
    db: Database, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    path = ROOT / "flows/events/2027-01-mental-health.yaml"
    text = path.read_text(encoding="utf-8")
    english_only = re.sub(
        r"  name:\n(    \w\w: .*\n)+", "  name: Riverside Community Centre\n", text
    )
    assert english_only != text
    service = Conversations(db, engine, settings=settings, clock=clock)
    events = Events(
        db,
        service,
        {SHIPPED_EVENT: load_event_text(english_only, path="e.yaml")},
        settings=settings,
        clock=clock,
    )
    assert events.sync() == []
    events.definitions[SHIPPED_EVENT] = load_event_text(text, path="e.yaml")  # now with cy
    assert events.sync() == []  # nobody is told the event has moved
    moved = text.replace("en: Riverside Community Centre", "en: The Guildhall")
    events.definitions[SHIPPED_EVENT] = load_event_text(moved, path="e.yaml")
    assert events.sync() == [SHIPPED_EVENT]
