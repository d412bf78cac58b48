"""Consent: an append-only log of opt-ins and opt-outs, and the check made before every send.

``Contact.opted_out`` is a copy of the latest event's status, kept by ``record_consent`` (its
only writer) in the same transaction, so audiences of a million can be selected with an index
instead of a "latest event per person" query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from outreach.store.models import ConsentEvent, Contact
from outreach.store.statements import INSERT_CONSENT

Status = Literal["opted_in", "opted_out"]
Source = Literal["keyword", "import", "coordinator", "carrier", "inbound"]


def record_consent(
    tx: Session,
    contact: Contact,
    status: Status,
    *,
    source: Source,
    words: str | None,
    at: datetime,
) -> bool:
    """Append a consent event; returns True if it changed the person's state."""
    changed = contact.opted_out != (status == "opted_out")
    tx.add(ConsentEvent(contact_id=contact.id, status=status, source=source, words=words, at=at))
    contact.opted_out = status == "opted_out"
    contact.updated_at = at
    return changed


def log_consent(
    connection: Connection,
    contact_id: int,
    status: Status,
    *,
    source: Source,
    words: str | None,
    at: datetime,
) -> None:
    """Append a consent event with a Core statement (the conversation service's hot path;
    it keeps ``contacts.opted_out`` in step itself)."""
    connection.execute(
        INSERT_CONSENT,
        {"contact_id": contact_id, "status": status, "source": source, "words": words, "at": at},
    )


def consent_status(tx: Session, contact_id: int) -> Status | None:
    """The person's consent as the log says (None: no event recorded)."""
    latest = tx.scalar(
        select(ConsentEvent.status)
        .where(ConsentEvent.contact_id == contact_id)
        .order_by(ConsentEvent.id.desc())
        .limit(1)
    )
    return None if latest is None else ("opted_out" if latest == "opted_out" else "opted_in")


def refusal(contact: Contact | None, *, consent_exempt: bool = False) -> str | None:
    """Why a message may not go to ``contact`` now, or None if it may.

    The dispatcher calls this immediately before each send, on a freshly read row: a STOP
    that arrived after the message was queued still stops it. Only the one receipt confirming
    an opt-out is exempt.
    """
    if contact is None or contact.erased_at is not None:
        return "erased"
    if contact.opted_out and not consent_exempt:
        return "opted-out"
    if contact.undeliverable:
        return "undeliverable"
    return None
