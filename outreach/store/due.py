"""Due work: what must happen at a time, as rows (reminders, timeouts, an event's sends and the
per-person starts they fan out into). This module is the only writer of ``due_work``.

Rows are claimed a batch at a time with a lease (``outreach.store.leases``) and deleted in the
transaction that does their work, so each is done once; a worker that dies leaves its claims to
run out, and ``sweep`` hands them back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Select

from outreach.store import leases
from outreach.store.dialect import OneOf, insert_many
from outreach.store.lean import Lean
from outreach.store.models import DueWork
from outreach.store.statements import TABLES, insert_row

due_work = TABLES["due_work"]
# The columns of a ``start`` row, as the fan-out statements fill them.
START_COLUMNS = ("kind", "contact_id", "event_id", "payload", "due_at", "expires_at", "created_at")

_ITEM_COLUMNS = (
    due_work.c.id,
    due_work.c.kind,
    due_work.c.contact_id,
    due_work.c.session_id,
    due_work.c.event_id,
    due_work.c.seq,
    due_work.c.payload,
    due_work.c.due_at,
    due_work.c.expires_at,
)
_ITEM = select(*_ITEM_COLUMNS).where(due_work.c.id == bindparam("due_id"))
_DELETE = delete(due_work).where(due_work.c.id == bindparam("due_id"))
_DELETE_SESSION = Lean(delete(due_work).where(due_work.c.session_id == bindparam("session_id")))
# A batch's rows, locked: another worker doing the same row (after our lease ran out) waits
# for this transaction and then finds it gone.
_ITEMS = (
    select(*_ITEM_COLUMNS)
    .where(OneOf(due_work.c.id, "due_ids"))
    .order_by(due_work.c.id)
    .with_for_update()
)
# The same rows unlocked: to learn whose they are, so that the people are locked first (the
# order a reply takes: the person, then their timers).
_PEEK = select(*_ITEM_COLUMNS).where(OneOf(due_work.c.id, "due_ids"))
_DELETE_MANY = delete(due_work).where(OneOf(due_work.c.id, "due_ids"))
_DELETE_SESSIONS = delete(due_work).where(OneOf(due_work.c.session_id, "session_ids"))
_INSERT_TIMER = Lean(insert(due_work))


def get(connection: Connection, due_id: int) -> Any:
    return connection.execute(_ITEM, {"due_id": due_id}).first()


def done(connection: Connection, due_id: int) -> None:
    """The row's work is done (or void): it goes in the transaction that did it."""
    connection.execute(_DELETE, {"due_id": due_id})


def get_many(connection: Connection, due_ids: Sequence[int]) -> list[Any]:
    """A batch's rows still there, by id, locked for this transaction (one statement)."""
    if not due_ids:
        return []
    return list(connection.execute(_ITEMS, {"due_ids": list(due_ids)}).all())


def peek_many(connection: Connection, due_ids: Sequence[int]) -> list[Any]:
    """A batch's rows still there, not locked (one statement)."""
    if not due_ids:
        return []
    return list(connection.execute(_PEEK, {"due_ids": list(due_ids)}).all())


def done_many(connection: Connection, due_ids: Sequence[int]) -> None:
    """A batch's rows are done (or void), in the transaction that did them."""
    if due_ids:
        connection.execute(_DELETE_MANY, {"due_ids": list(due_ids)})


def schedule_timers(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """A batch's reminders and timeouts (the columns ``schedule_timer`` fills), in one
    executemany."""
    insert_many(connection, due_work, rows)


def cancel_timers_many(connection: Connection, session_ids: Sequence[int]) -> None:
    if session_ids:
        connection.execute(_DELETE_SESSIONS, {"session_ids": list(session_ids)})


def schedule_timer(connection: Connection, row: dict[str, Any]) -> None:
    """A conversation's reminder or timeout (its row: ``timer``)."""
    _INSERT_TIMER.run(connection, row)


def timer(
    *,
    kind: str,
    contact_id: int,
    session_id: int,
    seq: int,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A reminder's or timeout's row (``schedule_timer``, ``schedule_timers``)."""
    return {
        "kind": kind,
        "contact_id": contact_id,
        "session_id": session_id,
        "seq": seq,
        "due_at": due_at,
        "payload": payload or {},
        "created_at": now,
    }


def cancel_timers(connection: Connection, session_id: int) -> None:
    """Everything a conversation had scheduled (it moved on, or ended)."""
    _DELETE_SESSION.run(connection, {"session_id": session_id})


def cancel_person(connection: Connection, contact_id: int) -> None:
    """Everything scheduled for a person (they opted out, or were erased)."""
    connection.execute(delete(due_work).where(due_work.c.contact_id == contact_id))


def schedule_start(
    connection: Connection,
    *,
    contact_id: int,
    event_id: str | None,
    payload: dict[str, Any],
    due_at: datetime,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Start a flow for one person at ``due_at`` (``payload["flow"]``), unless it is past
    ``expires_at`` by then."""
    insert_row(
        connection,
        "due_work",
        {
            "kind": "start",
            "contact_id": contact_id,
            "event_id": event_id,
            "payload": payload,
            "due_at": due_at,
            "expires_at": expires_at,
            "created_at": now,
        },
    )


def schedule_work(
    connection: Connection,
    *,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    contact_id: int | None = None,
    due_at: datetime | None = None,
) -> None:
    """Work for a feature's handler (a handoff to post, an alert), due now or at ``due_at``."""
    insert_row(
        connection,
        "due_work",
        {
            "kind": kind,
            "contact_id": contact_id,
            "payload": payload,
            "due_at": due_at or now,
            "created_at": now,
        },
    )


def fan_out(tx: Session, rows: Select[*tuple[Any, ...]]) -> int:
    """Insert one ``start`` row per row ``rows`` selects (its columns: ``START_COLUMNS``) in
    one INSERT ... SELECT; returns how many. A million people is one statement."""
    result = tx.execute(
        insert(due_work).from_select(START_COLUMNS, rows),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(result, "rowcount", 0))


def schedule_event_send(
    tx: Session,
    event_id: str,
    payload: dict[str, Any],
    *,
    due_at: datetime,
    expires_at: datetime,
    now: datetime,
) -> None:
    """One of an event's sends (invitations, a reminder, the follow-up), fanned out when due."""
    tx.add(
        DueWork(
            kind="event",
            event_id=event_id,
            payload=payload,
            due_at=due_at,
            expires_at=expires_at,
            created_at=now,
        )
    )


# An event send's payload: the people it was done for early (the phone simulator's "now").
DONE_FOR = "done_for"


def done_early_for(tx: Session, due_id: int, contact_id: int) -> bool:
    """Leave one person out of an event's send when it fans out, as it was done for them
    already; False if the row is gone or a worker is expanding it."""
    item = tx.get(DueWork, due_id, with_for_update=True)
    if item is None or item.kind != "event" or item.claimed_by is not None:
        return False
    done = list(item.payload.get(DONE_FOR, []))
    if contact_id not in done:
        item.payload = {**item.payload, DONE_FOR: [*done, contact_id]}
    return True


def pending_event_sends(tx: Session, event_id: str) -> set[str]:
    """The run keys of an event's sends still waiting."""
    return set(
        tx.scalars(
            select(DueWork.payload["key"].as_string()).where(
                DueWork.event_id == event_id, DueWork.kind == "event"
            )
        )
    )


def cancel_timed_sends(tx: Session, event_id: str) -> None:
    """An event moved: its reminders and follow-up for the old time are void (what is under
    way in a worker finishes)."""
    tx.execute(
        delete(DueWork).where(
            DueWork.event_id == event_id,
            DueWork.kind.in_(("event", "start")),
            DueWork.claimed_by.is_(None),
            or_(
                DueWork.payload["what"].as_string().like("reminder-%"),
                DueWork.payload["what"].as_string() == "follow-up",
            ),
        )
    )


def upcoming_event_sends(tx: Session, event_id: str) -> list[tuple[datetime, str]]:
    return [
        (at, str(what))
        for at, what in tx.execute(
            select(DueWork.due_at, DueWork.payload["what"].as_string())
            .where(DueWork.event_id == event_id, DueWork.kind == "event")
            .order_by(DueWork.due_at)
        ).all()
    ]


# -- claiming ----------------------------------------------------------------------------------


def claim(
    tx: Session,
    *,
    kinds: Collection[str],
    worker: str,
    now: datetime,
    lease: timedelta,
    size: int,
) -> list[tuple[int, str]]:
    """Take up to ``size`` due, unclaimed rows of ``kinds``, soonest first."""
    statement = claim_statement(kinds=kinds, worker=worker, now=now, lease=lease, size=size)
    rows = tx.execute(statement).all()
    return [(row.id, row.kind) for row in sorted(rows, key=lambda r: (r.due_at, r.id))]


def claim_statement(
    *, kinds: Collection[str], worker: str, now: datetime, lease: timedelta, size: int
) -> Any:
    """``claim``'s statement: the first rows by ``ix_due_work_due_at_id``'s order."""
    return leases.claim_statement(
        due_work,
        ready=(due_work.c.due_at <= now)
        & due_work.c.claimed_until.is_(None)
        & due_work.c.kind.in_(list(kinds)),
        order_by=(due_work.c.due_at, due_work.c.id),
        size=size,
        worker=worker,
        until=now + lease,
        returning=(due_work.c.kind, due_work.c.due_at),
    )


def release(tx: Session, due_ids: list[int], worker: str) -> None:
    leases.release(tx, due_work, due_ids, worker=worker)


def sweep(tx: Session, now: datetime) -> int:
    return leases.sweep(tx, due_work, now)
