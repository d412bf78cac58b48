"""Example data for ``outreach demo``: a Big Conversation a day away and three made-up people,
invited as soon as the worker runs."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from outreach.events.library import load_event_text
from outreach.services import simulator
from outreach.services.runtime import Runtime
from outreach.store.models import ContactTag

DEMO_EVENT = "demo-big-conversation"
DEMO_TAG = "demo"
PEOPLE = [
    ("07400 123456", "Amina", "en"),
    ("07400 123457", "Bronwen", "cy"),
    ("07400 123458", "Marek", "pl"),
]
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
    rt.events.invite(DEMO_EVENT)
