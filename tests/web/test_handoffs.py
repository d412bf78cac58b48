"""A person asks for a human, end to end over real HTTP: a signed Twilio webhook in, a thread
in the partner's channel of the fake Slack (through the real slack_sdk client), the partner's
reply (signed by the fake Slack as Slack signs it, through the Bolt app) out by SMS to the
fake Twilio phone, the person's answer back in the thread, and Resolve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Answer, Handoff, Message
from tests.conftest import mobile
from tests.services.conftest import add_contact, add_event
from tests.web.conftest import Site, make_site
from tests.web.test_slack import eventually

HANDOFFS = "C0HANDOFFMIND"  # the shipped partner's handoff channel (flows/partners/)
PARTNER = "U0PARTNERJO"
PHONE = mobile(7)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(HANDOFFS)
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
        secret_key=SecretStr("a secret for pseudonyms"),
    ) as running:
        slack.events_url = f"{running.url}/slack/events"
        yield running


def invited(site: Site, **fields: Any) -> int:
    """Siân, invited by SMS to a Big Conversation (the shipped invitation)."""
    db, clock = site.runtime.db, site.clock
    event = add_event(db, at=clock.now)
    cid = add_contact(db, 7, at=clock.now, first_name="Siân", fields=fields)
    assert site.runtime.conversations.start(cid, "big-conversation-invite", event_id=event)
    site.runtime.dispatcher.flush()
    return cid


def threads(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.history(HANDOFFS) if "thread_ts" not in m]


def handoff(db: Database) -> Handoff:
    with db.transaction() as tx:
        found = tx.scalar(select(Handoff))
        assert found is not None
        tx.expunge(found)
        return found


def test_human_by_sms_opens_a_thread_the_partner_answers_and_resolves(
    site: Site, slack: FakeSlack, db: Database
) -> None:
    cid = invited(site)
    site.text_in(PHONE, "HUMAN", sid="SM" + "1" * 32)
    site.runtime.dispatcher.flush()
    assert site.fake.sent_to(PHONE)[-1]["body"].startswith("Thank you. Someone from")

    site.runtime.due.run()  # the worker posts the handoff
    [parent] = threads(slack)
    assert "Siân P-" in parent["text"] and PHONE not in str(parent)  # never the number
    assert "big-conversation-invite, step invite" in parent["text"]
    assert "Them: HUMAN" in parent["text"]  # the recent conversation
    assert [b["type"] for b in parent["blocks"]][-1] == "actions"  # Resolve

    reply = "Hi Siân, I'm Jo from Worcester Mind. What would you like to ask?"
    assert slack.reply_in_thread(PARTNER, HANDOFFS, parent["ts"], reply) == 200
    eventually(lambda: site.runtime.dispatcher.flush().counts.get("sent"))
    assert site.fake.sent_to(PHONE)[-1]["body"].startswith(reply)
    with db.transaction() as tx:  # recorded like every message
        said = tx.scalars(select(Message.body).where(Message.direction == "out")).all()
    assert any(body.startswith(reply) for body in said)

    site.text_in(PHONE, "Can I bring my daughter?", sid="SM" + "2" * 32)
    site.runtime.due.run()
    replies = slack.thread(HANDOFFS, parent["ts"])[1:]
    assert replies[-1]["text"].endswith("Can I bring my daughter?")
    with db.transaction() as tx:  # in the thread, not the flow
        assert tx.scalar(select(Answer.value).where(Answer.contact_id == cid)) is None

    assert slack.press(PARTNER, parent["ts"], str(handoff(db).id), channel=HANDOFFS) == 200
    eventually(lambda: handoff(db).status == "closed")
    assert handoff(db).closed_by == f"slack:{PARTNER}"

    def resolved_said() -> bool:
        return any("Resolved by" in m["text"] for m in slack.thread(HANDOFFS, parent["ts"]))

    eventually(resolved_said)
    eventually(lambda: site.runtime.dispatcher.flush().counts.get("sent"))
    assert "Can you come?" in site.fake.sent_to(PHONE)[-1]["body"]  # the flow goes on

    site.text_in(PHONE, "1", sid="SM" + "3" * 32)
    with db.transaction() as tx:
        assert tx.scalar(select(Answer.value).where(Answer.contact_id == cid)) == "yes"


def test_the_number_is_shown_only_to_partners_of_someone_who_agreed(
    site: Site, slack: FakeSlack
) -> None:
    invited(site, agreed_to_contact=True)
    site.text_in(PHONE, "can someone call me", sid="SM" + "4" * 32)
    site.runtime.due.run()
    [parent] = threads(slack)
    assert PHONE in parent["text"]


def test_not_understood_after_retries_is_a_visible_handoff(site: Site, slack: FakeSlack) -> None:
    invited(site)
    for n, text in enumerate(["purple", "banana", "giraffe"]):
        site.text_in(PHONE, text, sid="SM" + str(n + 5) * 32)
    site.runtime.dispatcher.flush()
    assert "Sorry, we couldn't understand" in site.fake.sent_to(PHONE)[-1]["body"]
    site.runtime.due.run()
    [parent] = threads(slack)
    assert "big-conversation-invite, step call-back" in parent["text"]
    assert "Could not understand their reply" in parent["text"]


def test_a_handoff_nobody_answers_is_raised_again_in_its_thread(
    site: Site, slack: FakeSlack, clock: ManualClock
) -> None:
    invited(site)
    site.text_in(PHONE, "HUMAN", sid="SM" + "9" * 32)
    site.runtime.due.run()
    [parent] = threads(slack)
    assert site.runtime.threads.reraise() == 0  # not yet
    clock.advance(timedelta(minutes=site.runtime.settings.handoff_reraise_minutes + 1))
    assert site.runtime.threads.reraise() == 1
    [raised] = slack.thread(HANDOFFS, parent["ts"])[1:]
    assert raised["text"].startswith("Still waiting")


def test_slack_rate_limit_on_posting_a_handoff_is_waited_out(site: Site, slack: FakeSlack) -> None:
    invited(site)
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    site.text_in(PHONE, "HUMAN", sid="SM" + "8" * 32)
    site.runtime.due.run()
    assert len(threads(slack)) == 1  # posted once, after Slack's Retry-After
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_messages_nobody_was_waiting_for_go_into_one_thread(
    site: Site, slack: FakeSlack, db: Database
) -> None:
    site.runtime.threads.default_channel = HANDOFFS  # nobody follows a stranger: the default
    stranger = mobile(8)
    site.text_in(stranger, "hello? who is this?", sid="SM" + "1" * 32)
    site.text_in(stranger, "I got a text from this number", sid="SM" + "2" * 32)
    site.runtime.due.run()
    [parent] = threads(slack)
    assert "A message came with no conversation waiting for it." in parent["text"]
    [relayed] = slack.thread(HANDOFFS, parent["ts"])[1:]
    assert relayed["text"].endswith("I got a text from this number")
    with db.transaction() as tx:
        assert len(tx.scalars(select(Handoff)).all()) == 1


def test_a_channel_the_app_is_not_in_leaves_the_handoff_listed(
    site: Site, slack: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    invited(site)
    slack.fail_next("chat.postMessage", error="not_in_channel")
    site.text_in(PHONE, "HUMAN", sid="SM" + "5" * 32)
    assert site.runtime.due.run().total() == 1  # done: not tried again and again
    assert threads(slack) == [] and "not_in_channel" in caplog.text
    found = handoff(db)
    assert found.status == "open" and found.raised_at is not None and found.thread_ts is None
