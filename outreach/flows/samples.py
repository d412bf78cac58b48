"""A made-up Big Conversation, for rehearsing flows and measuring their messages before any
real event exists (``outreach flows simulate``, golden transcripts, translation checks), and
statements for rehearsing a statements step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def demo_event(now: datetime) -> dict[str, Any]:
    """A made-up Big Conversation ten days after ``now`` at 18:00 UTC, for rehearsals."""
    starts = (now + timedelta(days=10)).replace(hour=18, minute=0, second=0, microsecond=0)
    return {
        "id": "demo-event",
        "title": "Big Conversation: mental health support in Worcester",
        "topic": "mental health support in the community",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "venue": "Riverside Community Centre",
        "address": "12 High Street, Worcester WR1 2AB",
        "access": "step-free entrance, hearing loop, quiet room",
        "capacity": 60,
        "places_left": 60,
        "full": False,
        "paid": "travel and £20 for your time",
    }


SAMPLE_STATEMENTS = (
    "Appointments should be offered in the evening and at weekends.",
    "It is too hard to get through on the phone to book help.",
    "Peer support groups helped me more than anything else.",
)
"""Statements a rehearsal offers, as if coordinators had approved them."""
