"""Which address what Outreach starts goes to, for a person on SMS and Slack: the channel the
flow or event prefers, else the one they last replied on, else their first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from outreach.channels.base import Inbound
from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition, load_text
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import ContactAddress, Event, Message, OutboxItem
from tests.conftest import mobile
from tests.services.conftest import add_contact, add_event, fire_due

SLACK_ID = "U0BOTHWAYS"
SLACK_FLOW = """\
version: 1
flow: slack-check-in
description: A check-in that prefers Slack.
channel: slack
steps:
  - id: hello
    send: How are things?
    ask: text
    remind_after: 1d
"""


def last_sent_via(db: Database) -> str:
    """The scheme of the address the latest queued message goes to."""
    with db.transaction() as tx:
        return str(
            tx.scalar(
                select(ContactAddress.scheme)
                .join(OutboxItem, OutboxItem.address_id == ContactAddress.id)
                .order_by(OutboxItem.id.desc())
                .limit(1)
            )
        )


def test_what_is_started_goes_where_the_person_last_replied(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    person = add_contact(db, 1, at=clock(), slack_user_id=SLACK_ID)
    service.start(person, "you-said-we-did")
    assert last_sent_via(db) == "tel"  # never replied: their first address

    clock.advance(timedelta(minutes=5))
    service.receive(Inbound("slack", SLACK_ID, "thanks", "D1:1700000000.000100"))
    clock.advance(timedelta(minutes=5))
    service.start(person, "you-said-we-did")
    assert last_sent_via(db) == "slack"

    clock.advance(timedelta(minutes=5))
    service.receive(Inbound("tel", mobile(1), "ok", "SM" + "1" * 32))
    clock.advance(timedelta(minutes=5))
    service.start(person, "you-said-we-did")
    assert last_sent_via(db) == "tel"
    with db.transaction() as tx:
        stamps = {
            scheme: at
            for scheme, at in tx.execute(
                select(ContactAddress.scheme, ContactAddress.last_inbound_at)
            )
        }
    assert stamps["tel"] > stamps["slack"]


def test_a_flow_that_prefers_slack_and_its_reminder_go_to_slack(
    db: Database,
    engine: Engine,
    shipped_flows: dict[str, FlowDefinition],
    settings: Settings,
    clock: ManualClock,
) -> None:
    flows = {**shipped_flows, "slack-check-in": load_text(SLACK_FLOW, path="check-in.yaml")}
    service = Conversations(db, Engine(flows), settings=settings, clock=clock)
    person = add_contact(db, 2, at=clock(), slack_user_id=SLACK_ID)
    service.receive(Inbound("tel", mobile(2), "hello", "SM" + "2" * 32))  # last replied by SMS
    service.start(person, "slack-check-in")
    assert last_sent_via(db) == "slack"

    clock.advance(timedelta(days=1, minutes=1))
    assert fire_due(service) == 1
    assert last_sent_via(db) == "slack"  # the reminder follows the flow's channel
    with db.transaction() as tx:
        kinds = list(tx.scalars(select(Message.kind).where(Message.direction == "out")))
    assert kinds[-1] == "reminder"


def test_an_event_that_prefers_slack_sends_its_invitation_there(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    event = add_event(db, at=clock())
    with db.transaction() as tx:
        found = tx.get(Event, event)
        assert found is not None
        found.config = {**found.config, "channel": "slack"}
    sms_only = add_contact(db, 3, at=clock())
    both = add_contact(db, 4, at=clock(), slack_user_id=SLACK_ID)
    service.start(both, "big-conversation-invite", event_id=event)
    assert last_sent_via(db) == "slack"
    service.start(sms_only, "big-conversation-invite", event_id=event)
    assert last_sent_via(db) == "tel"  # no Slack: the preference is only a preference


def test_a_button_on_a_question_answered_since_changes_nothing(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    person = add_contact(db, 5, at=clock(), slack_user_id=SLACK_ID)
    event = add_event(db, at=clock())
    service.start(person, "big-conversation-invite", event_id=event)
    with db.transaction() as tx:
        invitation = tx.scalar(select(Message.id).where(Message.direction == "out"))
    assert invitation is not None
    service.receive(Inbound("slack", SLACK_ID, "no", "D1:1700000000.000300"))  # typed: "no"
    late = service.receive(
        Inbound("slack", SLACK_ID, "Yes", "press:D1:1", button="yes", in_reply_to=invitation)
    )
    assert late.status == "stale"
    with db.transaction() as tx:
        outgoing = tx.scalar(
            select(Message.body).where(Message.direction == "out").order_by(Message.id.desc())
        )
    assert outgoing is not None and not outgoing.startswith("Great!")
