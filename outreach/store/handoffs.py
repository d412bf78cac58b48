"""Conversations a person should pick up (asked for, not understood, a possible opt-out): this
module is the only writer of ``handoffs``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

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
