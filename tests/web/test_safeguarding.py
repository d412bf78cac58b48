"""Safeguarding end to end: a message with a safeguarding phrase, in any language, alerts the
safeguarding channel at once with the conversation and sends the person the crisis contacts in
their language, whatever the hour and whatever flow is waiting; the audit log records it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Answer, AuditEntry, Handoff
from tests.conftest import mobile
from tests.services.conftest import add_contact, add_event
from tests.web.conftest import Site, make_site

SAFEGUARDING = "C0SAFEGUARD"
PHONE = mobile(11)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))  # 23:00 in London


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(SAFEGUARDING)
        yield fake


@pytest.fixture
def site(
    settings: Settings, db: Database, fake: FakeTwilio, slack: FakeSlack, clock: ManualClock
) -> Iterator[Site]:
    with make_site(
        settings,
        db,
        fake,
        clock,
        slack_bot_token=SecretStr(slack.bot_token),
        slack_signing_secret=SecretStr(slack.signing_secret),
        slack_api_url=slack.api_url,
        safeguarding_channel=SAFEGUARDING,
    ) as running:
        yield running


def test_a_polish_phrase_at_night_alerts_at_once_and_sends_crisis_contacts_in_polish(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    cid = add_contact(db, 11, at=clock.now, language="pl", first_name="Ania")
    event = add_event(db, at=clock.now)
    site.runtime.conversations.start(cid, "big-conversation-invite", event_id=event)
    assert str(site.runtime.dispatcher.flush()) == "nothing to send"  # the invitation waits

    site.text_in(PHONE, "Nie chcę już żyć, nie daję rady", sid="SM" + "a" * 32)
    site.runtime.dispatcher.flush()
    [crisis] = site.fake.sent_to(PHONE)  # at 23:00, before the invitation held for morning
    assert crisis["body"].startswith("Jeśli grozi Ci niebezpieczeństwo, dzwoń pod 999.")
    assert "NHS 111" in crisis["body"] and "116 123" in crisis["body"]

    site.runtime.due.run()  # the worker's next tick
    [alert] = slack.history(SAFEGUARDING)
    assert alert["text"].startswith("Someone needs a person: Ania P-")
    assert "SAFEGUARDING" in alert["text"] and "Concern: they may harm themselves." in alert["text"]
    assert "Them: Nie chcę już żyć, nie daję rady" in alert["text"]  # the conversation
    assert PHONE not in str(alert)

    with db.transaction() as tx:
        [entry] = tx.scalars(select(AuditEntry).where(AuditEntry.action == "safeguarding-alert"))
        assert entry.contact_id == cid and entry.detail["concern"] == "self-harm"
        assert tx.scalar(select(Answer.id)) is None  # not swallowed as an answer by the flow
        assert tx.scalar(select(Handoff.reason)) == "safeguarding"


def test_a_second_message_goes_into_the_open_alert_and_the_lead_can_answer(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    add_contact(db, 11, at=clock.now, first_name="Sam")
    site.text_in(PHONE, "I'm scared to go home", sid="SM" + "b" * 32)
    site.runtime.due.run()
    site.text_in(PHONE, "he hits me", sid="SM" + "c" * 32)
    site.runtime.due.run()
    [alert, relayed] = slack.history(SAFEGUARDING)
    assert "Concern: they may be being abused" in alert["text"]
    assert relayed["thread_ts"] == alert["ts"] and relayed["text"].endswith("he hits me")
    site.runtime.dispatcher.flush()
    assert len(site.fake.sent_to(PHONE)) == 2  # the crisis contacts, each time


def test_someone_who_opted_out_still_gets_the_crisis_contacts(
    site: Site, db: Database, clock: ManualClock
) -> None:
    add_contact(db, 11, at=clock.now)
    site.text_in(PHONE, "STOP", sid="SM" + "d" * 32)
    site.text_in(PHONE, "i want to end it all", sid="SM" + "e" * 32)
    site.runtime.dispatcher.flush()
    said = [m["body"] for m in site.fake.sent_to(PHONE)]
    assert said[-1].startswith("If you are in danger now, call 999.")
