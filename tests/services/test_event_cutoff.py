"""Conversations about an event stop at its start (or at its ``rsvp_until``): nobody is chased,
asked or signed up for an event that has begun, and a late reply gets a kind answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.errors import EventClosed
from outreach.events.library import EventDefinition, load_event_text
from outreach.flows.loader import FlowDefinition
from outreach.services.flows import build_engine
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import (
    ConversationSession,
    DueWork,
    Handoff,
    Message,
    OutboxItem,
    Rsvp,
)
from tests.services.test_events import EVENT, STARTS, Town, definition, problems_of

EVENT_ID = "bc-mental-health"


@pytest.fixture
def town(
    db: Database, shipped_flows: dict[str, FlowDefinition], settings: Settings, t0: datetime
) -> Town:
    """The event's town, speaking every language the catalogs have."""
    return Town(db, build_engine(settings, shipped_flows), settings, ManualClock(t0))


def with_rsvp_until(offset: str, starts: str = "2026-03-20 18:00") -> EventDefinition:
    ends = datetime.fromisoformat(starts) + timedelta(hours=2)
    text = EVENT.format(starts=starts, ends=ends).replace(
        "capacity: 2", f"capacity: 2\nrsvp_until: {offset}"
    )
    return load_event_text(text, path="bc.yaml")


def invited_at(town: Town, when: datetime, *, language: str = "en") -> int:
    """Amina, in the audience, invited at ``when`` (the worker sends it then)."""
    cid = town.person(1, "Amina", "mental-health", language=language)
    town.clock.now = when
    town.events.invite(EVENT_ID)
    town.at(when)
    return cid


def said(town: Town, cid: int) -> list[tuple[str, str]]:
    """What Amina was sent: (kind, text) of each message."""
    with town.db.transaction() as tx:
        return [
            (kind, body or "")
            for kind, body in tx.execute(
                select(Message.kind, Message.body)
                .where(Message.contact_id == cid, Message.direction == "out")
                .order_by(Message.id)
            )
        ]


def timers(town: Town, cid: int) -> list[tuple[str, datetime]]:
    with town.db.transaction() as tx:
        return [
            (kind, at)
            for kind, at in tx.execute(
                select(DueWork.kind, DueWork.due_at)
                .where(DueWork.contact_id == cid)
                .order_by(DueWork.due_at)
            )
        ]


def last_session(town: Town, cid: int) -> ConversationSession:
    with town.db.transaction() as tx:
        found = tx.scalar(
            select(ConversationSession)
            .where(ConversationSession.contact_id == cid)
            .order_by(ConversationSession.id.desc())
        )
        assert found is not None
        tx.expunge(found)
        return found


def test_an_invitation_the_day_before_is_not_chased_after_the_event(town: Town) -> None:
    cid = invited_at(town, STARTS - timedelta(days=1))
    # Its reminder (48h) would come after the start: there is none, and the wait ends then.
    assert timers(town, cid) == [("timeout", STARTS)]

    town.at(STARTS + timedelta(days=3))
    assert [kind for kind, _ in said(town, cid)] == ["message", "question"]  # no "did you see..."
    session = last_session(town, cid)
    assert (session.status, session.end_reason) == ("ended", "event-closed")
    assert timers(town, cid) == []


def test_a_reminder_before_the_start_still_goes_and_the_wait_closes_at_the_start(
    town: Town,
) -> None:
    cid = invited_at(town, STARTS - timedelta(days=3))
    reminder_at = STARTS - timedelta(days=1)  # 48h after the invitation: before the start
    assert timers(town, cid) == [("reminder", reminder_at), ("timeout", STARTS)]
    town.at(reminder_at)
    assert [kind for kind, _ in said(town, cid)] == ["message", "question", "reminder"]
    assert timers(town, cid) == [("timeout", STARTS)]  # 3 days on would be after the start
    town.at(STARTS)
    assert last_session(town, cid).end_reason == "event-closed"
    assert [kind for kind, _ in said(town, cid)] == ["message", "question", "reminder"]


def test_a_question_asked_near_the_start_closes_quietly_at_the_start(town: Town) -> None:
    cid = invited_at(town, STARTS - timedelta(hours=3))
    town.phone(1).text("yes")
    assert said(town, cid)[-1][1].startswith("Great! Would anything help you")
    assert timers(town, cid) == [("timeout", STARTS)]  # not 2 days on
    with town.db.transaction() as tx:
        useful_until = tx.scalars(
            select(OutboxItem.expires_at).join(Message).where(Message.contact_id == cid)
        ).all()
    assert set(useful_until) == {STARTS}  # not worth sending once the event has begun

    town.at(STARTS + timedelta(hours=1))
    # No "Thank you, see you on..." after the event has begun; the yes stands.
    assert not any("see you on" in text for _, text in said(town, cid))
    assert last_session(town, cid).end_reason == "event-closed"
    assert town.rsvp(cid) == "yes"


@pytest.mark.parametrize("worker_ran", [True, False], ids=["closed-by-worker", "still-waiting"])
def test_a_yes_after_the_event_gets_a_kind_answer_in_their_language_and_no_rsvp(
    town: Town, worker_ran: bool
) -> None:
    cid = invited_at(town, STARTS - timedelta(days=1), language="cy")
    later = STARTS + timedelta(days=1)
    if worker_ran:
        town.at(later)
    else:
        town.clock.now = later  # the worker was down: the conversation still waits
    town.phone(1).text("1")  # "yes" to the invitation

    assert town.rsvp(cid) == "invited"
    kind, text = said(town, cid)[-1]
    assert kind == "system"
    assert "Sgwrs Fawr" in text and "Dydd Gwener, 20 Mawrth" in text  # Welsh, with the date
    assert "Thank" not in text and "already" not in text
    assert len(said(town, cid)) == 3  # the invitation, its question, this answer: no more
    session = last_session(town, cid)
    assert session.end_reason == "event-closed"
    with town.db.transaction() as tx:
        reply_session = tx.scalar(
            select(Message.session_id).where(Message.contact_id == cid, Message.direction == "in")
        )
        reasons = tx.scalars(select(Handoff.reason).where(Handoff.contact_id == cid)).all()
    assert reply_session == session.id  # kept with the conversation it answered
    assert reasons == ["after-event"]  # someone can still pick it up

    town.phone(1).text("diolch")  # told once: a second message is only flagged
    assert len(said(town, cid)) == 3


def test_a_reply_during_the_event_says_it_has_started(town: Town) -> None:
    cid = invited_at(town, STARTS - timedelta(days=1))
    town.clock.now = STARTS + timedelta(minutes=30)
    town.phone(1).text("yes")
    assert "has already started" in said(town, cid)[-1][1]
    assert town.rsvp(cid) == "invited"


def test_rsvp_until_closes_invitations_before_the_start(town: Town) -> None:
    town.events.definitions[EVENT_ID] = with_rsvp_until("-2d")
    town.events.sync()
    cid = invited_at(town, STARTS - timedelta(days=3))
    closes = STARTS - timedelta(days=2)
    # The reminder (48h on) would come after replies close: none; the wait ends at the close.
    assert timers(town, cid) == [("timeout", closes)]
    town.at(closes)
    assert last_session(town, cid).end_reason == "event-closed"

    town.clock.now = STARTS - timedelta(days=1)
    town.phone(1).text("yes")
    text = said(town, cid)[-1][1]
    assert text == (
        "Thank you for your reply. Replies about the Big Conversation on Friday, 20 March "
        "closed on Wednesday, 18 March, 18:00. We have passed your message to our team."
    )
    assert town.rsvp(cid) == "invited"

    with pytest.raises(EventClosed, match="replies closed on Wed 18 Mar 2026 18:00"):
        town.events.invite(EVENT_ID)


def test_no_invitation_starts_once_replies_have_closed(town: Town) -> None:
    cid = town.person(1, "Amina", "mental-health")
    town.clock.now = STARTS + timedelta(minutes=1)
    with pytest.raises(EventClosed):
        town.events.invite(EVENT_ID)
    with pytest.raises(EventClosed):
        town.events.plan(EVENT_ID)
    with town.db.transaction() as tx:
        assert tx.scalars(select(Rsvp)).all() == []  # nobody counted as invited
    service = town.service
    assert not service.start(cid, "big-conversation-invite", event_id=EVENT_ID)
    assert not service.start(cid, "event-place-offer", event_id=EVENT_ID)
    assert said(town, cid) == []
    # What comes after the event still can: the follow-up survey.
    assert service.start(cid, "post-event-survey", event_id=EVENT_ID)
    assert said(town, cid)[-1][0] == "question"


def test_moving_the_event_later_keeps_the_invitation_open_until_the_new_start(
    town: Town,
) -> None:
    cid = invited_at(town, STARTS - timedelta(days=1))
    town.clock.now = STARTS - timedelta(hours=1)
    town.events.definitions[EVENT_ID] = definition("2026-03-27 18:00")
    town.events.sync()
    town.at(STARTS)  # the old start: the conversation stays open
    assert last_session(town, cid).status == "waiting"
    # The invitation's own reminder and timeout, held back by the old start, are due again.
    assert timers(town, cid) == [
        ("reminder", STARTS + timedelta(days=1)),
        ("timeout", STARTS + timedelta(days=4)),
    ]
    town.phone(1).text("yes")
    assert town.rsvp(cid) == "yes"


def test_rsvp_until_problems_name_the_line(shipped_flows: dict[str, Any]) -> None:
    base = EVENT.format(starts="2026-03-20 18:00", ends="2026-03-20 20:00")

    def problems(line: str) -> list[str]:
        return problems_of(base.replace("capacity: 2", f"capacity: 2\n{line}"), shipped_flows)

    assert problems("rsvp_until: -2d") == []
    assert problems("rsvp_until: 1h") == [
        "ev.yaml:13:13: rsvp_until: replies close at or before the start: write an offset "
        "like -2d [invalid-value]"
    ]
    assert problems("rsvp_until: -2d\ninvite_at: -1d") == [
        "ev.yaml:13:13: rsvp_until: invitations (invite_at -1d) would go out after replies "
        "close (-2d): invite earlier, or close later [invalid-value]"
    ]
