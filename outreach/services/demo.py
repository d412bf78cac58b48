"""Example data for ``outreach demo``: a Big Conversation and three made-up people."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.services import simulator
from outreach.services.runtime import Runtime
from outreach.store.models import Event

DEMO_EVENT = "demo-big-conversation"
PEOPLE = [
    ("07400 123456", "Amina", "en"),
    ("07400 123457", "Bronwen", "cy"),
    ("07400 123458", "Marek", "pl"),
]


def seed(rt: Runtime) -> None:
    """Create (or refresh) the demo event, ten days ahead at 18:00, and the demo people."""
    now = rt.clock()
    zone = ZoneInfo("Europe/London")
    day = (now.astimezone(zone) + timedelta(days=10)).date()
    starts = datetime.combine(day, time(18, 0), tzinfo=zone)
    with rt.db.transaction() as tx:
        event = tx.get(Event, DEMO_EVENT) or Event(id=DEMO_EVENT)
        event.title = "Big Conversation: mental health support in Worcester"
        event.starts_at = starts
        event.ends_at = starts + timedelta(hours=2)
        event.timezone = "Europe/London"
        event.capacity = 60
        event.details = {
            "topic": "mental health support in the community",
            "venue": "Riverside Community Centre",
            "address": "12 High Street, Worcester WR1 2AB",
            "access": "step-free entrance, hearing loop and a quiet room",
            "paid": "travel and £20 for your time",
        }
        event.updated_at = now
        tx.merge(event)
    for phone, name, language in PEOPLE:
        simulator.add_contact(rt, phone=phone, first_name=name, language=language)
