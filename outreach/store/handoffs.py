"""Conversations a person should pick up (asked for, not understood, a possible opt-out): this
module is the only writer of ``handoffs``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from outreach.store.models import Handoff
from outreach.store.statements import insert_row


def open_handoff(
    connection: Connection,
    *,
    contact_id: int,
    reason: str,
    note: str,
    now: datetime,
    session_id: int | None = None,
    message_id: int | None = None,
    team: str | None = None,
) -> int:
    return insert_row(
        connection,
        "handoffs",
        {
            "contact_id": contact_id,
            "session_id": session_id,
            "message_id": message_id,
            "reason": reason,
            "note": note,
            "team": team,
            "status": "open",
            "created_at": now,
        },
    )


def is_open(connection: Connection, contact_id: int, reason: str) -> bool:
    """Whether a handoff for this reason is already open for the person."""
    found = connection.execute(
        select(Handoff.id)
        .where(Handoff.contact_id == contact_id, Handoff.reason == reason, Handoff.status == "open")
        .limit(1)
    ).first()
    return found is not None
