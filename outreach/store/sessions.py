"""Conversations (``sessions``) and their answers: this module is their only writer.

A session row holds the engine's state as JSON between two messages; at most one per person is
``waiting`` (a partial unique index), which is also how the next reply finds it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Update, bindparam, literal_column, select, update

from outreach.store.dialect import OneOf, insert_many, reserve_ids
from outreach.store.lean import Lean
from outreach.store.statements import TABLES, insert_row

sessions = TABLES["sessions"]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A stored conversation: enough to run the engine and update it."""

    id: int
    status: str
    event_id: str | None
    state: str | None
    end_reason: str | None = None


_COLUMNS = (
    sessions.c.id,
    sessions.c.status,
    sessions.c.event_id,
    sessions.c.state,
    sessions.c.end_reason,
)
# 'waiting' is written into the SQL, not bound: PostgreSQL's generic plan for a prepared
# statement cannot use the partial index (WHERE status = 'waiting') for a bound value, and
# scanned the whole table once per reply as it grew.
_WAITING_STATUS = literal_column("'waiting'", sessions.c.status.type)
_WAITING = Lean(
    select(*_COLUMNS).where(
        sessions.c.contact_id == bindparam("contact_id"),
        sessions.c.status == _WAITING_STATUS,
    )
)
# A batch's people at once; the same literal, so the partial index serves it too.
_WAITING_MANY = select(sessions.c.contact_id, *_COLUMNS).where(
    OneOf(sessions.c.contact_id, "contact_ids"),
    sessions.c.status == _WAITING_STATUS,
)
_BY_ID = select(*_COLUMNS).where(sessions.c.id == bindparam("session_id"))
_BY_IDS = select(*_COLUMNS).where(OneOf(sessions.c.id, "session_ids"))
_LATEST = (
    select(*_COLUMNS)
    .where(sessions.c.contact_id == bindparam("contact_id"))
    .order_by(sessions.c.id.desc())
    .limit(1)
)


def waiting(connection: Connection, contact_id: int) -> SessionRow | None:
    """The person's conversation waiting for a reply, if any."""
    found = _WAITING.first(connection, {"contact_id": contact_id})
    return SessionRow(*found) if found is not None else None


def waiting_many(connection: Connection, contact_ids: Sequence[int]) -> dict[int, SessionRow]:
    """Each person's conversation waiting for a reply, by contact (one statement)."""
    if not contact_ids:
        return {}
    rows = connection.execute(_WAITING_MANY, {"contact_ids": list(contact_ids)})
    return {contact_id: SessionRow(*found) for contact_id, *found in rows}


def latest(connection: Connection, contact_id: int) -> SessionRow | None:
    """The person's most recent conversation, waiting or ended."""
    found = connection.execute(_LATEST, {"contact_id": contact_id}).first()
    return SessionRow(*found) if found is not None else None


def by_id(connection: Connection, session_id: int) -> SessionRow | None:
    found = connection.execute(_BY_ID, {"session_id": session_id}).first()
    return SessionRow(*found) if found is not None else None


def by_ids(connection: Connection, session_ids: Sequence[int]) -> dict[int, SessionRow]:
    """Conversations by id (one statement)."""
    if not session_ids:
        return {}
    rows = connection.execute(_BY_IDS, {"session_ids": list(session_ids)})
    return {found.id: SessionRow(*found) for found in rows}


def create(connection: Connection, values: dict[str, Any]) -> int:
    return insert_row(connection, "sessions", values)


def create_many(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert a batch of sessions in one executemany; returns their ids, in order."""
    ids = reserve_ids(connection, sessions, len(rows))
    if ids:
        rows = [{**row, "id": i} for i, row in zip(ids, rows, strict=True)]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:  # an ended one names more columns than one waiting
            groups.setdefault(tuple(row), []).append(row)
        for same in groups.values():
            insert_many(connection, sessions, same)
    return ids


def save_many(connection: Connection, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Update a batch of sessions, one executemany for each set of columns changed."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for session_id, values in changes:
        groups.setdefault(tuple(sorted(values)), []).append({**values, "_id": session_id})
    for names, rows in groups.items():
        connection.execute(_update(names), rows)


def save(connection: Connection, session_id: int, values: dict[str, Any]) -> None:
    _saving(tuple(values)).run(connection, {**values, "_id": session_id})


@functools.cache
def _update(names: tuple[str, ...]) -> Update:
    """The update of a session's ``names`` columns (one for each set a flow saves)."""
    return (
        update(sessions)
        .where(sessions.c.id == bindparam("_id"))
        .values({name: bindparam(name) for name in names})
    )


@functools.cache
def _saving(names: tuple[str, ...]) -> Lean:
    return Lean(_update(names))


def ended(reason: str, detail: str, now: datetime) -> dict[str, Any]:
    """A session's columns once it has ended."""
    return {
        "status": "ended",
        "end_reason": reason,
        "end_detail": detail or None,
        "ended_at": now,
        "updated_at": now,
        "step": None,
    }


def end(connection: Connection, session_id: int, reason: str, detail: str, now: datetime) -> None:
    save(connection, session_id, ended(reason, detail, now))


def end_all(connection: Connection, contact_id: int, reason: str, now: datetime) -> None:
    """End every conversation of a person (an erasure: nothing of them is left to resume)."""
    connection.execute(
        update(sessions)
        .where(sessions.c.contact_id == contact_id)
        .values(status="ended", step=None, end_reason=reason, ended_at=now, updated_at=now)
    )


def save_answer(connection: Connection, values: dict[str, Any]) -> int:
    return insert_row(connection, "answers", values)
