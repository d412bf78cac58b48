"""Places at events: RSVPs, the waiting list and freed places offered on.

A yes to a full event joins the waiting list (and the person is told so); a place given up (a
no, an opt-out, an erasure) is held as "offered" for the first person waiting, and the event's
place-offer flow asks them. Who holds a place is defined once, in ``outreach.store.rsvps``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.i18n.catalogs import N_
from outreach.store import due, rsvps
from outreach.store.models import Event

WAITLISTED = N_(
    "Thank you! The Big Conversation is full, so you are on the waiting list. "
    "We will text you if a place comes free."
)


def reply(tx: Session, event_id: str, contact_id: int, answer: str, now: datetime) -> bool:
    """Record a person's RSVP; True if it put them on the waiting list just now (they must
    be told)."""
    event = rsvps.lock_event(tx, event_id)  # one place-counter at a time
    if event is None:
        return False
    found = rsvps.of(tx, event_id, contact_id)
    before = found.status if found is not None else None
    waitlisted = False
    if answer == "yes" and before not in rsvps.HOLDING and _full(tx, event):
        answer = "waitlist"
        waitlisted = before != "waitlist"
    rsvps.set_status(tx, event_id, contact_id, answer, now, found)
    if before in rsvps.HOLDING and answer not in rsvps.HOLDING:
        offer_next_place(tx, event, now)
    return waitlisted


def give_up_places(tx: Session, contact_id: int, now: datetime) -> None:
    """Someone who opted out or was erased is not coming: their places at events go to the
    people waiting for one."""
    for place in rsvps.holding(tx, contact_id):
        rsvps.set_status(tx, place.event_id, contact_id, "no", now, place)
        event = rsvps.lock_event(tx, place.event_id)
        if event is not None:
            offer_next_place(tx, event, now)


def offer_next_place(tx: Session, event: Event, now: datetime) -> int | None:
    """Offer a freed place to the first person on the waiting list (who has not opted out):
    hold it for them and schedule the event's place-offer flow. Returns their contact id."""
    if event.starts_at <= now:
        return None  # too late to offer anything
    waiting = rsvps.first_waiting(tx, event.id)
    if waiting is None:
        return None
    rsvps.set_status(tx, event.id, waiting.contact_id, "offered", now, waiting)
    due.schedule_start(
        tx.connection(),
        contact_id=waiting.contact_id,
        event_id=event.id,
        payload={
            "flow": event.config.get("place_offer", "event-place-offer"),
            "to": ["offered"],
            "what": "offer",
        },
        due_at=now,
        expires_at=event.starts_at,
        now=now,
    )
    return waiting.contact_id


def _full(tx: Session, event: Event) -> bool:
    if event.capacity is None:
        return False
    return rsvps.places_taken(tx.connection(), event.id) >= event.capacity
