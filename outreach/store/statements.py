"""Shared pieces of the statements the hot path runs: the tables, and an insert returning id.

An inbound SMS is the hottest path in Outreach: a webhook must be answered within Twilio's
time-out however many arrive. Going through the ORM's unit of work cost about 0.4 ms a
statement there, three times the database's own time; Core statements, compiled once and
cached by SQLAlchemy, skip that. So each writer module in ``outreach.store`` builds the
statements of the receive path (and the dispatcher's bookkeeping, a batch at a time) once, at
import, from these tables; the ORM stays for the rarer paths (RSVPs, events, reports). The
statements every webhook runs go further and skip SQLAlchemy's per-call machinery too
(``outreach.store.lean``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from outreach.store.lean import Lean
from outreach.store.models import Base

TABLES = Base.metadata.tables
_RETURNING_ID = {
    name: Lean(insert(table).returning(table.c.id))
    for name, table in TABLES.items()
    if "id" in table.c
}


def insert_row(connection: Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row into ``table`` (on the driver's cursor: ``outreach.store.lean``);
    returns its id."""
    return int(_RETURNING_ID[table].scalar(connection, values))
