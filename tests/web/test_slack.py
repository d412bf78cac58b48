"""Slack end to end over real HTTP: the Bolt app at /slack/events, requests signed with
slack_sdk's SignatureVerifier (by the fake Slack, as Slack signs them), DMs sent through the
real slack_sdk WebClient to the fake Slack's Web API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store import contacts
from outreach.store.database import Database
from outreach.store.models import (
    ConsentEvent,
    Contact,
    Message,
    OutboxItem,
    Rsvp,
    WebhookRejection,
)
from tests.services.conftest import add_event, count
from tests.web.conftest import Site, make_site

PERSON = "U0TESTPERSON"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(PERSON, "Siân")
        yield fake


@pytest.fixture
def site(
    settings: Settings,
    db: Database,
    fake: FakeTwilio,
    slack: FakeSlack,
    clock: ManualClock,
) -> Iterator[Site]:
    with make_site(
        settings,
        db,
        fake,
        clock,
        slack_bot_token=SecretStr(slack.bot_token),
        slack_signing_secret=SecretStr(slack.signing_secret),
        slack_api_url=slack.api_url,
    ) as running:
        slack.events_url = f"{running.url}/slack/events"
        yield running


def slack_person(db: Database, clock: ManualClock, user_id: str = PERSON) -> int:
    """Someone reached only on Slack, who agreed to be contacted."""
    now = clock()
    with db.transaction() as tx:
        return contacts.create(
            tx.connection(),
            "slack",
            user_id,
            {
                "language": "en",
                "timezone": "Europe/London",
                "fields": {},
                "opted_out": False,
                "created_at": now,
                "updated_at": now,
            },
            {"status": "opted_in", "source": "import", "words": "asked at a meeting", "at": now},
        ).id


def eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    """``check()`` once it is true: the app does its work after answering Slack."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, "it did not happen in time"
        time.sleep(0.05)
    return result


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def rsvp_of(db: Database, contact_id: int) -> str | None:
    with db.transaction() as tx:
        return tx.scalar(select(Rsvp.status).where(Rsvp.contact_id == contact_id))


def test_invitation_as_buttons_yes_pressed_recorded_and_message_updated_once(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    person = slack_person(db, clock)
    event = add_event(db, at=clock())
    assert site.runtime.conversations.start(person, "big-conversation-invite", event_id=event)
    assert str(site.runtime.dispatcher.flush()) == "2 sent"  # the news, then the question

    [news, invitation] = slack.dm(PERSON)
    assert news["text"].startswith("Hi there, you're invited")  # plain text for all
    assert buttons(news) == []
    assert "1. Yes, I'll come" in invitation["text"]
    assert buttons(invitation) == ["Yes, I'll come", "Maybe", "Not this time", "Tell me more"]
    menu = invitation["blocks"][0]["accessory"]
    assert menu["type"] == "overflow"
    assert menu["options"][0]["text"]["text"] == "Stop these messages"
    # No auth.test, at start-up or since: the app needs no network to build.
    # The DM is opened once, then both messages go to it.
    assert [c.method for c in slack.calls] == [
        "conversations.open",
        "chat.postMessage",
        "chat.postMessage",
    ]

    shown = slack.dm(PERSON)[1]  # as the person's screen shows it, buttons and all
    started = time.monotonic()
    assert slack.press(PERSON, invitation["ts"], "yes", as_shown=shown) == 200
    assert time.monotonic() - started < 3  # acknowledged at once; the work comes after
    eventually(lambda: rsvp_of(db, person) == "yes")
    updated = eventually(lambda: slack.dm(PERSON)[1] if slack.calls_to("chat.update") else None)
    assert buttons(updated) == []  # nothing left to press
    assert updated["blocks"][-1]["elements"][0]["text"] == "✓ You answered: Yes, I'll come"
    assert updated["text"].endswith("You answered: Yes, I'll come")

    # A second press (the old buttons were still on screen) changes nothing.
    assert slack.press(PERSON, invitation["ts"], "no", as_shown=shown) == 200
    time.sleep(1.0)  # the app's work after the answer; nothing may come of it
    assert count(db, Message, Message.direction == "in") == 1  # a duplicate of the first
    assert rsvp_of(db, person) == "yes"
    assert len(slack.calls_to("chat.update")) == 1
    assert str(site.runtime.dispatcher.flush()) == "1 sent"  # the next question, once
    assert len(slack.dm(PERSON)) == 3
    assert slack.dm(PERSON)[2]["text"].startswith("Great! Would anything help you")
    assert not slack.calls_to("auth.test")


def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_are_recorded(
    site: Site, slack: FakeSlack
) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c", "token": "t"}).encode()
    url = f"{site.url}/slack/events"
    kind = {"Content-Type": "application/json"}
    assert httpx.post(url, content=body, headers=kind).status_code == 401
    forged = FakeSlack(signing_secret="not-the-secret").signed_headers(body)
    assert httpx.post(url, content=body, headers={**kind, **forged}).status_code == 401
    stale = slack.signed_headers(body, timestamp=int(time.time()) - 600)
    assert httpx.post(url, content=body, headers={**kind, **stale}).status_code == 401
    tampered = slack.signed_headers(body)
    other = body.replace(b'"c"', b'"d"')
    assert httpx.post(url, content=other, headers={**kind, **tampered}).status_code == 401

    with site.runtime.db.transaction() as tx:
        refused = sorted(tx.execute(select(WebhookRejection.endpoint, WebhookRejection.reason)))
    assert refused == [
        ("/slack/events", "bad-signature"),
        ("/slack/events", "bad-signature"),
        ("/slack/events", "missing-signature"),
        ("/slack/events", "stale-signature"),
    ]
    metrics = httpx.get(f"{site.url}/metrics").text
    assert 'endpoint="/slack/events",reason="bad-signature"} 2' in metrics


def test_url_verification_challenge_is_answered(site: Site, slack: FakeSlack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1a", "token": "t"})
    answer = httpx.post(
        f"{site.url}/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **slack.signed_headers(body.encode())},
    )
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1a"}


def test_rate_limited_twice_the_message_arrives_once_after_the_wait(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    person = slack_person(db, clock)
    slack.rate_limit_next("chat.postMessage", 2, retry_after=30)
    assert site.runtime.conversations.start(person, "join")
    limited_at = clock()
    for _ in range(2):
        assert str(site.runtime.dispatcher.flush()) == "1 retrying"
        with db.transaction() as tx:
            waits_until = tx.scalar(select(OutboxItem.not_before))
        assert waits_until >= clock() + timedelta(seconds=30)  # Slack's Retry-After
        assert str(site.runtime.dispatcher.flush()) == "nothing to send"
        clock.advance(waits_until - clock())
    assert str(site.runtime.dispatcher.flush()) == "1 sent"
    assert clock() >= limited_at + timedelta(seconds=60)

    assert len(slack.dm(PERSON)) == 1  # once
    posts = slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 429, 200]
    with db.transaction() as tx:
        message = tx.scalar(select(Message).where(Message.direction == "out"))
        assert message is not None and message.status == "delivered"


def test_typed_replies_and_stop_work_as_in_sms(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    person = slack_person(db, clock)
    event = add_event(db, at=clock())
    site.runtime.conversations.start(person, "big-conversation-invite", event_id=event)
    site.runtime.dispatcher.flush()

    assert slack.say(PERSON, "yes please") == 200  # typed, matched like an SMS reply
    eventually(lambda: rsvp_of(db, person) == "yes")
    site.runtime.dispatcher.flush()
    question = slack.dm(PERSON)[-1]
    assert question["text"].startswith("Great! Would anything help you")

    assert slack.choose(PERSON, question["ts"], "stop") == 200  # the message's menu
    eventually(lambda: count(db, Contact, Contact.opted_out.is_(True)) == 1)
    with db.transaction() as tx:
        assert tx.scalar(select(ConsentEvent.source).order_by(ConsentEvent.id.desc())) == "keyword"
    assert str(site.runtime.dispatcher.flush()) == "1 sent"
    assert slack.dm(PERSON)[-1]["text"].startswith("You won't get any more messages")
    assert rsvp_of(db, person) != "yes"  # the place was given up, as STOP does by SMS


def test_help_by_slash_command_and_messages_in_channels_are_ignored(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    slack_person(db, clock)
    command = {
        "command": "/outreach",
        "text": "help",
        "user_id": PERSON,
        "team_id": slack.team_id,
        "channel_id": "C0PUBLIC",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": "https://hooks.slack.example/commands/1",
    }
    body = httpx.QueryParams(command).__str__().encode()
    assert slack.post_to_app(body, "application/x-www-form-urlencoded") == 200
    eventually(lambda: count(db, Message, Message.direction == "in") == 1)
    site.runtime.dispatcher.flush()
    assert slack.dm(PERSON)[-1]["text"].startswith("This is the Big Conversation team")

    channel_message = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "event_id": "Ev0CHANNEL",
        "event": {
            "type": "message",
            "channel": "C0PUBLIC",
            "channel_type": "channel",
            "user": PERSON,
            "text": "stop",
            "ts": "1700000000.000200",
        },
    }
    assert slack.post_to_app(json.dumps(channel_message).encode(), "application/json") == 200
    time.sleep(0.3)
    assert count(db, Message, Message.direction == "in") == 1  # only DMs are conversations
    assert count(db, Contact, Contact.opted_out.is_(True)) == 0


def test_socket_mode_without_an_app_token_says_what_to_set(settings: Settings) -> None:
    from typer.testing import CliRunner

    from outreach.cli import app

    configured = settings.model_copy(
        update={"slack_bot_token": SecretStr("xoxb-1"), "slack_signing_secret": SecretStr("s")}
    )
    result = CliRunner().invoke(app, ["slack", "socket"], obj=configured)
    assert result.exit_code == 1
    assert "SLACK_APP_TOKEN" in result.output
    assert "Traceback" not in result.output


def test_the_manifest_asks_for_what_outreach_calls_and_points_at_one_url() -> None:
    import yaml

    from tests.conftest import ROOT

    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yaml").read_text(encoding="utf-8"))
    settings = manifest["settings"]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    }
    assert urls == {"https://outreach.example.org/slack/events"}
    assert settings["event_subscriptions"]["bot_events"] == ["message.im"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "im:write",
        "im:history",
        "users:read",
        "commands",
    }
    assert manifest["features"]["slash_commands"][0]["command"] == "/outreach"


def test_someone_new_writing_on_slack_is_named_and_timed_from_their_profile(
    site: Site, slack: FakeSlack, db: Database
) -> None:
    slack.add_user("U0NEWCOMER", "Olu Adeyemi", tz="America/New_York")
    assert slack.say("U0NEWCOMER", "JOIN") == 200
    eventually(lambda: slack.calls_to("users.info"))
    contact = eventually(
        lambda: next(iter(_contacts_named(db, "Olu")), None),
    )
    assert contact.timezone == "America/New_York"
    site.runtime.dispatcher.flush()
    assert slack.dm("U0NEWCOMER")[-1]["text"].startswith("Welcome to the Big Conversation!")


def _contacts_named(db: Database, name: str) -> list[Contact]:
    with db.transaction() as tx:
        found = list(tx.scalars(select(Contact).where(Contact.first_name == name)))
        tx.expunge_all()
        return found


def test_statements_as_buttons_each_press_votes_on_the_statement_it_was_under(
    site: Site, slack: FakeSlack, db: Database, clock: ManualClock
) -> None:
    from outreach.services.statements import Statements
    from outreach.store.models import StatementVote

    person = slack_person(db, clock)
    event = add_event(db, at=clock())
    desk = Statements(db, clock=clock)
    first = desk.add(event, "Evening appointments would help.", language="en", by="lead")
    second = desk.add(event, "Parking costs too much.", language="en", by="lead")
    assert site.runtime.conversations.start(person, "common-ground", event_id=event)
    site.runtime.dispatcher.flush()
    [_, statement] = slack.dm(PERSON)
    assert buttons(statement) == ["Agree", "Disagree", "Pass"]
    assert "Evening appointments would help." in statement["text"]

    shown = slack.dm(PERSON)[1]
    assert slack.press(PERSON, statement["ts"], f"disagree:{first}", as_shown=shown) == 200
    eventually(lambda: count(db, StatementVote) == 1)
    site.runtime.dispatcher.flush()
    following = slack.dm(PERSON)[2]
    assert "Parking costs too much." in following["text"]
    assert slack.press(PERSON, following["ts"], f"agree:{second}", as_shown=following) == 200
    eventually(lambda: count(db, StatementVote) == 2)
    with db.transaction() as tx:
        votes = dict(tx.execute(select(StatementVote.statement_id, StatementVote.vote)).all())
    assert votes == {first: "disagree", second: "agree"}
