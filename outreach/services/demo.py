"""Example data for ``outreach demo``: a Big Conversation a day away and three made-up people,
invited as soon as the worker runs; and a made-up Slack workspace with one more person, who
gets the invitation as a Slack DM with buttons."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.contacts.addresses import SLACK
from outreach.events.library import load_event_text
from outreach.services import simulator
from outreach.services.runtime import Runtime
from outreach.store import contacts
from outreach.store.models import ContactTag

DEMO_EVENT = "demo-big-conversation"
DEMO_TAG = "demo"
PEOPLE = [
    ("07400 123456", "Amina", "en"),
    ("07400 123457", "Bronwen", "cy"),
    ("07400 123458", "Marek", "pl"),
]
SLACK_PEOPLE = [("U0DEMOPRIYA", "Priya", "en")]  # in the made-up Slack workspace
EVENT = """\
version: 1
event: {id}
title: "Big Conversation: mental health support in Worcester"
topic: mental health support in the community
starts_at: {starts:%Y-%m-%d %H:%M}
ends_at: {ends:%Y-%m-%d %H:%M}
timezone: Europe/London
venue:
  name: Riverside Community Centre
  address: 12 High Street, Worcester WR1 2AB
  access: step-free entrance, hearing loop and a quiet room
capacity: 60
paid: {{travel: true, time: true, how: £20 for your time}}
audience: {{tags: [{tag}]}}
reminders:
  - {{at: -1d, flow: event-reminder}}
  - {{at: -2h, flow: event-reminder-soon, to: "yes"}}
follow_up: {{at: +1d, flow: post-event-survey, to: "yes"}}
"""


def seed(rt: Runtime) -> None:
    """The demo event (starting a day and three hours from now, so its reminders come
    soon), the demo people, and their invitations, which the worker sends at once."""
    zone = ZoneInfo("Europe/London")
    starts = (rt.clock() + timedelta(days=1, hours=3)).astimezone(zone).replace(tzinfo=None)
    text = EVENT.format(
        id=DEMO_EVENT, tag=DEMO_TAG, starts=starts, ends=starts + timedelta(hours=2)
    )
    rt.events.add(load_event_text(text, path="(demo event)"))
    rt.events.sync()
    for phone, name, language in PEOPLE:
        person = simulator.add_contact(rt, phone=phone, first_name=name, language=language)
        with rt.db.transaction() as tx:
            tagged = select(ContactTag).where(
                ContactTag.contact_id == person.id, ContactTag.tag == DEMO_TAG
            )
            if tx.scalar(tagged) is None:
                tx.add(ContactTag(contact_id=person.id, tag=DEMO_TAG))
    if SLACK in rt.channels:
        _seed_slack_people(rt)
    rt.events.invite(DEMO_EVENT)


@contextmanager
def slack_workspace(events_url: str) -> Iterator[FakeSlack]:
    """The demo's made-up Slack workspace, sending what its people do to ``events_url``."""
    with FakeSlack(
        bot_token="xoxb-demo-" + secrets.token_hex(12),
        signing_secret=secrets.token_hex(16),
        events_url=events_url,
    ) as slack:
        for user_id, name, _ in SLACK_PEOPLE:
            slack.add_user(user_id, name)
        yield slack


def slack_settings(slack: FakeSlack) -> dict[str, Any]:
    """Settings that point the Slack channel and app at the made-up workspace."""
    return {
        "slack_bot_token": SecretStr(slack.bot_token),
        "slack_signing_secret": SecretStr(slack.signing_secret),
        "slack_bot_user_id": slack.bot_user_id,
        "slack_api_url": slack.api_url,
        "slack_rehearsal": True,  # made-up people: nothing waits for quiet hours
    }


def _seed_slack_people(rt: Runtime) -> None:
    now = rt.clock()
    with rt.db.transaction() as tx:
        c = tx.connection()
        for user_id, name, language in SLACK_PEOPLE:
            if contacts.find_address(tx, SLACK, user_id) is not None:
                continue
            person = contacts.create(
                c,
                SLACK,
                user_id,
                {
                    "language": language,
                    "timezone": rt.settings.default_timezone,
                    "fields": {},
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                },
                {
                    "status": "opted_in",
                    "source": "coordinator",
                    "words": "made up in the demo's Slack workspace",
                    "at": now,
                },
            )
            contacts.update_contact(c, person.id, {"first_name": name})
            contacts.add_tag(c, person.id, DEMO_TAG)
