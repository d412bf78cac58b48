"""Consent: an append-only log of opt-ins and opt-outs, and the check made before every send.

This module is the only writer of ``consent_events`` and of ``contacts.opted_out``, a copy of
the latest event's status kept in the same transaction, so audiences of a million can be
selected with an index instead of a "latest event per person" query. Statements that create a
contact together with its first consent event take the consent part from here
(``first_consent``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Select, bindparam, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Insert

from outreach.store.lean import Lean
from outreach.store.models import ConsentEvent
from outreach.store.statements import TABLES
from outreach.store.types import UTCDateTime

Status = Literal["opted_in", "opted_out"]
Source = Literal["keyword", "import", "coordinator", "carrier", "inbound"]

contacts = TABLES["contacts"]
consent_events = TABLES["consent_events"]
CONSENT_COLUMNS = ("status", "source", "words", "at")

_INSERT = Lean(insert(consent_events))
_SET_OPTED_OUT = Lean(
    update(contacts)
    .where(contacts.c.id == bindparam("contact_id"))
    .values(opted_out=bindparam("opted_out"), updated_at=bindparam("at"))
)


def record(
    connection: Connection,
    contact_id: int,
    status: Status,
    *,
    source: Source,
    words: str | None,
    at: datetime,
    opted_out: bool,
) -> bool:
    """Append a consent event for a contact whose state is now ``opted_out``, keeping
    ``contacts.opted_out`` in step; returns True if it changed the person's state."""
    _INSERT.run(
        connection,
        {"contact_id": contact_id, "status": status, "source": source, "words": words, "at": at},
    )
    now_out = status == "opted_out"
    if now_out == opted_out:
        return False
    _SET_OPTED_OUT.run(connection, {"contact_id": contact_id, "opted_out": now_out, "at": at})
    return True


def first_consent(made: Any, params: str = "k_") -> Insert:
    """The consent event of contacts a statement is creating (``made``, a CTE of their ids),
    with its values bound as ``<params><column>``: the same row ``record`` would write."""
    values = (bindparam(f"{params}{n}", type_=consent_events.c[n].type) for n in CONSENT_COLUMNS)
    return insert(consent_events).from_select(
        ["contact_id", *CONSENT_COLUMNS], select(made.c.id, *values)
    )


def record_imported(
    connection: Connection, contact_ids: Select[Any], *, basis: str, at: datetime
) -> None:
    """The opt-in of contacts created by an import (``contact_ids`` selects them), one
    statement for all of them; imported contacts start opted in, so ``opted_out`` is right."""
    connection.execute(
        insert(consent_events).from_select(
            ["contact_id", *CONSENT_COLUMNS],
            contact_ids.add_columns(
                literal("opted_in"), literal("import"), literal(basis), literal(at, UTCDateTime())
            ),
        )
    )


def block_erased(connection: Connection, contact_id: int, at: datetime) -> None:
    """An erased record can never be messaged again: no consent is left to act on."""
    _SET_OPTED_OUT.run(connection, {"contact_id": contact_id, "opted_out": True, "at": at})


def consent_status(tx: Session, contact_id: int) -> Status | None:
    """The person's consent as the log says (None: no event recorded)."""
    latest = tx.scalar(
        select(ConsentEvent.status)
        .where(ConsentEvent.contact_id == contact_id)
        .order_by(ConsentEvent.id.desc())
        .limit(1)
    )
    return None if latest is None else ("opted_out" if latest == "opted_out" else "opted_in")


def refusal(
    opted_out: bool,
    erased_at: datetime | None,
    address: str | None,
    undeliverable: str | None,
    *,
    consent_exempt: bool = False,
) -> str | None:
    """Why a message may not go to this person at this address now, or None if it may.

    The dispatcher calls this immediately before each send, on a freshly read row: a STOP
    that arrived after the message was queued still stops it. Only the one receipt confirming
    an opt-out is exempt.
    """
    if erased_at is not None:
        return "erased"
    if opted_out and not consent_exempt:
        return "opted-out"
    if address is None:
        return "no address to send to"
    if undeliverable:
        return "undeliverable"
    return None
