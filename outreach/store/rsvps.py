"""People's places at events (``rsvps``): this module is their only writer, and holds the one
definition of who holds a place.

A person is ``invited``, says ``yes``, ``maybe`` or ``no``, joins the ``waitlist`` when a yes
finds the event full, or is ``offered`` a freed place (held for them while they decide). The
waiting list's order is ``updated_at``, then ``id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Select

from outreach.store.dialect import OneOf
from outreach.store.models import Contact, Event, Rsvp
from outreach.store.statements import TABLES

rsvps = TABLES["rsvps"]

HOLDING = ("yes", "offered")
"""The RSVPs that hold one of an event's places (and are told when it moves)."""

_PLACES_TAKEN = (
    select(func.count())
    .select_from(rsvps)
    .where(rsvps.c.event_id == bindparam("event_id"), rsvps.c.status.in_(HOLDING))
)


def places_taken(connection: Connection, event_id: str) -> int:
    return int(connection.execute(_PLACES_TAKEN, {"event_id": event_id}).scalar_one())


def lock_event(tx: Session, event_id: str) -> Event | None:
    """The event, locked: one change to its places at a time."""
    return tx.get(Event, event_id, with_for_update=True)


def of(tx: Session, event_id: str, contact_id: int) -> Rsvp | None:
    return tx.scalar(select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == contact_id))


def status(tx: Session, event_id: str, contact_id: int) -> str | None:
    found = of(tx, event_id, contact_id)
    return found.status if found is not None else None


_STATUSES = select(rsvps.c.contact_id, rsvps.c.status).where(
    rsvps.c.event_id == bindparam("event_id"),
    OneOf(rsvps.c.contact_id, "contact_ids"),
)


def statuses(connection: Connection, event_id: str, contact_ids: Sequence[int]) -> dict[int, str]:
    """A batch of people's RSVPs for an event, by contact (one statement)."""
    if not contact_ids:
        return {}
    params = {"event_id": event_id, "contact_ids": sorted(set(contact_ids))}
    return {contact_id: found for contact_id, found in connection.execute(_STATUSES, params)}


def set_status(
    tx: Session, event_id: str, contact_id: int, new: str, now: datetime, found: Rsvp | None
) -> None:
    """Record a person's new RSVP (``found`` is their current one, if any); a change moves
    ``updated_at``, which orders the waiting list by when people joined it."""
    if found is None:
        tx.add(Rsvp(event_id=event_id, contact_id=contact_id, status=new, updated_at=now))
    elif found.status != new:
        found.status = new
        found.updated_at = now
    tx.flush()


def holding(tx: Session, contact_id: int) -> list[Rsvp]:
    """The places a person holds, at any event."""
    return list(
        tx.scalars(select(Rsvp).where(Rsvp.contact_id == contact_id, Rsvp.status.in_(HOLDING)))
    )


def first_waiting(tx: Session, event_id: str) -> Rsvp | None:
    """The first person on the waiting list who may still be texted."""
    return tx.execute(
        select(Rsvp)
        .join(Contact, Contact.id == Rsvp.contact_id)
        .where(Rsvp.event_id == event_id, Rsvp.status == "waitlist", Contact.opted_out.is_(False))
        .order_by(Rsvp.updated_at, Rsvp.id)
        .limit(1)
    ).scalar_one_or_none()


def invite(tx: Session, event_id: str, contact_ids: Select[Any], now: datetime) -> int:
    """Record ``invited`` for everyone ``contact_ids`` selects, in one statement; returns how
    many. Their ``invited_at`` is ``now``, by which ``invited_now`` finds them."""
    chosen = contact_ids.add_columns(
        literal("invited"),
        literal(now, rsvps.c.invited_at.type),
        literal(now, rsvps.c.updated_at.type),
    )
    result = tx.execute(
        insert(rsvps).from_select(
            ["contact_id", "status", "invited_at", "updated_at", "event_id"],
            chosen.add_columns(literal(event_id)),
        ),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(result, "rowcount", 0))


def invited_at(event_id: str, now: datetime) -> Any:
    """Condition: invited to ``event_id`` at ``now`` (by ``invite`` in this transaction)."""
    return (rsvps.c.event_id == event_id) & (rsvps.c.invited_at == now)


def counts(tx: Session, event_id: str) -> dict[str, int]:
    return {
        status: int(n)
        for status, n in tx.execute(
            select(Rsvp.status, func.count()).where(Rsvp.event_id == event_id).group_by(Rsvp.status)
        ).all()
    }
