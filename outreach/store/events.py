"""Big Conversation events as the store mirrors them from the coordinator's files (the files
are the truth): this module is the only writer of ``events``, and reads an event as the flows
about it see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from outreach.i18n.locales import in_language
from outreach.store import rsvps
from outreach.store.models import Event
from outreach.store.statements import TABLES

events = TABLES["events"]
_EVENT = select(
    events.c.title,
    events.c.starts_at,
    events.c.ends_at,
    events.c.capacity,
    events.c.details,
    events.c.config,
).where(events.c.id == bindparam("event_id"))


def mirror(tx: Session, event_id: str, values: Mapping[str, Any], now: datetime) -> bool:
    """Bring the stored copy of an event in line with its file; True if it moved (a new
    time or venue), which the people coming must be told. A venue named in another language
    too has not moved: its English name is compared."""
    event = tx.get(Event, event_id, with_for_update=True)
    moved = event is not None and (
        event.starts_at != values["starts_at"]
        or in_language(event.details.get("venue"), "en")
        != in_language(values["details"].get("venue"), "en")
    )
    if event is None:
        event = Event(id=event_id)
        tx.add(event)
    for name, value in values.items():
        setattr(event, name, value)
    event.updated_at = now
    tx.flush()
    return moved


def stored(tx: Session, event_id: str | None = None) -> list[Event]:
    """Events as the store last mirrored them (one, or all), soonest first: what is known of
    an event whose file is not here (the demo's, or one since removed)."""
    query = select(Event).order_by(Event.starts_at, Event.id)
    if event_id is not None:
        query = query.where(Event.id == event_id)
    return list(tx.scalars(query))


def config(connection: Connection, event_id: str | None) -> Mapping[str, Any]:
    """How the service runs the event: its flows and quiet hours."""
    if event_id is None:
        return {}
    found = connection.execute(_EVENT, {"event_id": event_id}).first()
    return found.config if found is not None else {}


def fields(connection: Connection, event_id: str | None) -> Mapping[str, Any] | None:
    """The event as a flow's messages can show it (``{event.venue}``, ``{event.places_left}``)."""
    if event_id is None:
        return None
    found = connection.execute(_EVENT, {"event_id": event_id}).first()
    if found is None:
        return None
    places_left = None
    rsvp_until = (found.config or {}).get("rsvp_until")  # seconds from the start, if set
    if found.capacity is not None:
        places_left = max(0, found.capacity - rsvps.places_taken(connection, event_id))
    return {
        **found.details,
        "id": event_id,
        "title": found.title,
        "starts_at": found.starts_at,
        "ends_at": found.ends_at,
        "rsvp_until": found.starts_at + timedelta(seconds=rsvp_until or 0),
        "capacity": found.capacity,
        "places_left": places_left,
        "full": places_left == 0,
    }
