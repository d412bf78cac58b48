"""Messages and their outbox rows: this module is their only writer.

Every message in and out is a row of ``messages`` with its status history (kept whole: it is
the record); an outgoing one waiting to be sent also has an ``outbox`` row, removed once the
message has an outcome. Conversations log and queue on the hot path with prebuilt Core
statements. The dispatcher's bookkeeping (claim, read what to send, record what happened) is
at the bottom, in Core statements over a batch of rows at a time: a transaction per batch, not
per message, is what lets one worker send a thousand messages a second. The decisions
(whether to retry, when) are the dispatcher's; what each decision writes is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from outreach.store import leases
from outreach.store.dialect import dialect_of, insert_many, reserve_ids
from outreach.store.lean import Lean
from outreach.store.models import Message, OutboxItem
from outreach.store.statements import TABLES, insert_row

messages = TABLES["messages"]
outbox = TABLES["outbox"]
contacts = TABLES["contacts"]
addresses = TABLES["contact_addresses"]

# Delivery states only move forward; a late "sent" report does not undo "delivered".
STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "accepted": 2,
    "scheduled": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}


def entry(status: str, at: datetime, **detail: Any) -> dict[str, Any]:
    """One step of a message's status history (empty details left out)."""
    global _written
    when, text = _written
    if when is not at:  # a batch's messages share one moment: written once, not each time
        text = at.isoformat()
        _written = (at, text)
    step = {"status": status, "at": text}
    for key, value in detail.items():
        if value:
            step[key] = value
    return step


_written: tuple[datetime | None, str] = (None, "")


def _add(message: Message, status: str, at: datetime, **detail: Any) -> None:
    message.status_history = [*message.status_history, entry(status, at, **detail)]
    message.updated_at = at


# -- the conversation's side: logging and queueing ---------------------------------------------

QUEUED_MESSAGE = (
    "contact_id",
    "address_id",
    "channel",
    "direction",
    "body",
    "content",
    "kind",
    "status",
    "status_history",
    "encoding",
    "segments",
    "flow",
    "step",
    "session_id",
    "created_at",
    "updated_at",
)
OUTBOX_ROW = (
    "contact_id",
    "address_id",
    "urgent",
    "consent_exempt",
    "state",
    "not_before",
    "expires_at",
    "attempts",
    "created_at",
)
_BY_PROVIDER_ID = Lean(
    select(messages.c.id, messages.c.contact_id).where(
        messages.c.channel == bindparam("channel"),
        messages.c.provider_id == bindparam("provider_id"),
    )
)


def _message_and_outbox() -> Any:
    """The outgoing message and its outbox row in one statement (one round trip instead of
    two), the outbox row taking the new message's id from a CTE."""
    logged = (
        insert(messages)
        .values(
            {name: bindparam(f"m_{name}", type_=messages.c[name].type) for name in QUEUED_MESSAGE}
        )
        .returning(messages.c.id)
        .cte("logged")
    )
    queued = select(
        logged.c.id, *(bindparam(f"o_{name}", type_=outbox.c[name].type) for name in OUTBOX_ROW)
    )
    return (
        insert(outbox)
        .from_select(["message_id", *OUTBOX_ROW], queued)
        .returning(outbox.c.message_id)
    )


_MESSAGE_AND_OUTBOX = Lean(_message_and_outbox())
_INSERT_OUTBOX = Lean(insert(outbox))


def find_by_provider_id(connection: Connection, channel: str, provider_id: str) -> Any:
    """The message a provider knows by ``provider_id`` (its id and contact), if logged."""
    return _BY_PROVIDER_ID.first(connection, {"channel": channel, "provider_id": provider_id})


_ASKED = select(
    messages.c.contact_id, messages.c.session_id, messages.c.step, messages.c.direction
).where(messages.c.id == bindparam("message_id"))


def asked(connection: Connection, message_id: int) -> Any:
    """Who a message went to and which conversation and step it belonged to (for a button
    pressed on it), if it exists."""
    return connection.execute(_ASKED, {"message_id": message_id}).first()


def last_question(connection: Connection, session_id: int) -> Any:
    """The last question the conversation asked (its content, flow and step), if any."""
    return connection.execute(
        select(messages.c.content, messages.c.flow, messages.c.step)
        .where(
            messages.c.session_id == session_id,
            messages.c.direction == "out",
            messages.c.kind.in_(("question", "hint", "reminder")),
            messages.c.content.is_not(None),
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    ).first()


def recent(connection: Connection, contact_id: int, limit: int = 8) -> list[Any]:
    """A person's last messages, both ways, oldest first (bodies purged or erased are None)."""
    rows = connection.execute(
        select(messages.c.direction, messages.c.body, messages.c.created_at)
        .where(messages.c.contact_id == contact_id, messages.c.status != "suppressed")
        .order_by(messages.c.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def body_of(connection: Connection, message_id: int) -> str | None:
    return connection.execute(select(messages.c.body).where(messages.c.id == message_id)).scalar()


def said_in(connection: Connection, session_id: int, kind: str) -> bool:
    """Whether a message of ``kind`` went out in the conversation."""
    return (
        connection.execute(
            select(messages.c.id)
            .where(
                messages.c.session_id == session_id,
                messages.c.direction == "out",
                messages.c.kind == kind,
            )
            .limit(1)
        ).first()
        is not None
    )


def log(connection: Connection, values: dict[str, Any]) -> int:
    """Log a message that needs no sending (one that came in); returns its id."""
    return insert_row(connection, "messages", values)


def queue(connection: Connection, message: dict[str, Any], queued: dict[str, Any] | None) -> int:
    """Log an outgoing message and, unless ``queued`` is None (it may not be sent), put it in
    the outbox; returns the message's id."""
    if queued is None or not dialect_of(connection).writes_in_ctes:
        message_id = insert_row(connection, "messages", message)
        if queued is not None:
            _INSERT_OUTBOX.run(connection, {**queued, "message_id": message_id})
        return message_id
    params = {f"m_{k}": message[k] for k in QUEUED_MESSAGE}
    params.update({f"o_{k}": queued[k] for k in OUTBOX_ROW})
    return int(_MESSAGE_AND_OUTBOX.scalar(connection, params))


def queue_many(
    connection: Connection, queued: Sequence[tuple[dict[str, Any], dict[str, Any] | None]]
) -> list[int]:
    """``queue`` for a batch: the messages in one executemany, then their outbox rows in
    another; returns the messages' ids, in order."""
    ids = reserve_ids(connection, messages, len(queued))
    if not ids:
        return []
    insert_many(
        connection, messages, [{**m, "id": i} for i, (m, _) in zip(ids, queued, strict=True)]
    )
    rows = [{**o, "message_id": i} for i, (_, o) in zip(ids, queued, strict=True) if o is not None]
    insert_many(connection, outbox, rows)
    return ids


def cancel_queued(tx: Session, contact_id: int, now: datetime, reason: str) -> int:
    """Cancel a person's messages still waiting in the outbox (after an opt-out or an
    erasure); rows already being sent are left to their sender, which records what happened."""
    waiting = (OutboxItem.contact_id == contact_id) & (OutboxItem.state == "queued")
    cancelled = tx.scalars(
        select(Message).where(Message.id.in_(select(OutboxItem.message_id).where(waiting)))
    ).all()
    for message in cancelled:
        message.status = "cancelled"
        _add(message, "cancelled", now, reason=reason)
    tx.execute(delete(OutboxItem).where(waiting))
    return len(cancelled)


def drop_queue(tx: Session, contact_id: int) -> None:
    """Forget every outbox row of a person (an erased record can never be sent to)."""
    tx.execute(delete(OutboxItem).where(OutboxItem.contact_id == contact_id))


def purge_bodies(tx: Session, older_than: datetime, now: datetime) -> int:
    """Retention: remove the words of messages older than ``older_than``; returns how many.
    The rows (who, when, which flow, delivery status) stay for the record and the counts."""
    result = tx.execute(
        update(Message)
        .where(Message.created_at < older_than, Message.body.is_not(None))
        .values(body=None, content=None, updated_at=now),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(result, "rowcount", 0))


# -- the dispatcher's side: claiming, sending and recording ------------------------------------


def claim(
    connection: Connection,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    size: int,
    contact_id: int | None = None,
    item_id: int | None = None,
) -> list[int]:
    """Claim up to ``size`` outbox rows due now, oldest first, as ``sending``, and lock their
    people until the transaction ends (so that what ``to_send`` reads of their consent stays
    true until they are marked as being sent); returns the rows' ids. Rows whose person is
    locked (a STOP being recorded, another worker's claim) are skipped, not waited for:
    the claim never waits on a lock, so it cannot wait in a circle with a STOP, which locks
    the person and then their queued rows."""
    ready = (outbox.c.state == "queued") & (outbox.c.not_before <= now)
    if contact_id is not None:
        ready = ready & (outbox.c.contact_id == contact_id)
    if item_id is not None:
        ready = ready & (outbox.c.id == item_id)
    due = (
        select(outbox.c.id)
        .join(contacts, contacts.c.id == outbox.c.contact_id)
        .where(ready)
        .order_by(outbox.c.not_before, outbox.c.id)
        .limit(size)
        .with_for_update(skip_locked=True, of=(outbox, contacts))
    )
    claimed = connection.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(
            state="sending",
            attempts=outbox.c.attempts + 1,
            claimed_by=worker,
            claimed_until=now + lease,
        )
        .returning(outbox.c.id)
    )
    return sorted(claimed.scalars())


def release(tx: Session, item_ids: Sequence[int]) -> None:
    """Hand claimed rows back, unsent, for another worker (or a later run)."""
    leases.release(
        tx,
        outbox,
        item_ids,
        where=outbox.c.state == "sending",
        values={"state": "queued", "attempts": outbox.c.attempts - 1},
    )


def lapsed(connection: Connection, now: datetime) -> list[tuple[int, int]]:
    """Rows left in ``sending`` by a sender whose lease ran out, locked: each row's id and
    its message's."""
    rows = connection.execute(
        select(outbox.c.id, outbox.c.message_id)
        .where(outbox.c.state == "sending", leases.lapsed(outbox, now))
        .order_by(outbox.c.id)
        .with_for_update()
    )
    return [(row.id, row.message_id) for row in rows]


def to_send(connection: Connection, item_ids: Sequence[int]) -> list[Any]:
    """What sending claimed rows needs, read in the claim's transaction, in one statement:
    the person's consent and language, the address and its scheme, the words; in the order
    the rows were queued."""
    return list(
        connection.execute(
            select(
                outbox.c.id,
                outbox.c.message_id,
                outbox.c.contact_id,
                outbox.c.address_id,
                outbox.c.attempts,
                outbox.c.expires_at,
                outbox.c.consent_exempt,
                contacts.c.opted_out,
                contacts.c.erased_at,
                contacts.c.language,
                addresses.c.scheme,
                addresses.c.address,
                addresses.c.undeliverable,
                messages.c.body,
                messages.c.content,
            )
            .select_from(
                outbox.join(messages, messages.c.id == outbox.c.message_id)
                .join(contacts, contacts.c.id == outbox.c.contact_id)
                .outerjoin(addresses, addresses.c.id == outbox.c.address_id)
            )
            .where(outbox.c.id.in_(item_ids))
            .order_by(outbox.c.id)
        )
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed outbox row, as the message's record keeps it."""

    item_id: int
    message_id: int
    status: str  # the message's status from now on
    step: dict[str, Any]  # the entry added to its history (see ``entry``)
    keep: bool = False  # still being sent: the row stays claimed
    retry_at: datetime | None = None  # back in the outbox, due then; else the row goes
    channel: str | None = None  # the channel that sent it (the address decided)
    provider_id: str | None = None
    error_code: str | None = None
    last_error: str | None = None
    forward_only: bool = False  # a delivery report may have come first: never move back


_HELD = (
    select(
        outbox.c.id.label("item_id"),
        messages.c.id,
        messages.c.status,
        messages.c.status_history,
        messages.c.channel,
        messages.c.provider_id,
        messages.c.error_code,
    )
    .select_from(outbox.join(messages, messages.c.id == outbox.c.message_id))
    .where(outbox.c.state == "sending")
    .order_by(messages.c.id)
    .with_for_update()
)
_RECORD = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .values(
        {
            name: bindparam(f"b_{name}", type_=messages.c[name].type)
            for name in (
                "status",
                "status_history",
                "channel",
                "provider_id",
                "error_code",
                "updated_at",
            )
        }
    )
)
_REQUEUE = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(
        state="queued",
        not_before=bindparam("b_not_before", type_=outbox.c.not_before.type),
        last_error=bindparam("b_last_error", type_=outbox.c.last_error.type),
        claimed_by=None,
        claimed_until=None,
    )
)


def settle(
    connection: Connection, outcomes: Sequence[Outcome], now: datetime, *, worker: str | None
) -> set[int]:
    """Record many outcomes at once: a few statements for the lot, whatever their number.
    Only rows still held by ``worker`` (any claimed row when None) are recorded; returns
    their ids. A row another worker settled meanwhile (its lease ran out) is left alone."""
    if not outcomes:
        return set()
    held_rows = _HELD.where(outbox.c.id.in_([o.item_id for o in outcomes]))
    if worker is not None:
        held_rows = held_rows.where(outbox.c.claimed_by == worker)
    current = connection.execute(held_rows).all()
    if not current:
        return set()
    by_item = {o.item_id: o for o in outcomes}
    connection.execute(_RECORD, [_recorded(row, by_item[row.item_id], now) for row in current])
    held = {row.item_id for row in current}
    recorded = [by_item[item] for item in held]
    gone = [o.item_id for o in recorded if not o.keep and o.retry_at is None]
    if gone:
        connection.execute(delete(outbox).where(outbox.c.id.in_(gone)))
    requeued = [
        {"b_id": o.item_id, "b_not_before": o.retry_at, "b_last_error": o.last_error}
        for o in recorded
        if o.retry_at is not None
    ]
    if requeued:
        connection.execute(_REQUEUE, requeued)
    return held


def _recorded(row: Any, outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The message's columns after ``outcome``."""
    status = outcome.status
    history = list(row.status_history)
    at = len(history)
    if outcome.forward_only:
        # A delivery report may have come first: the status never moves back, and the
        # provider's answer goes before the reports that followed it, as things happened.
        if STATUS_RANK[status] < STATUS_RANK.get(row.status, -1):
            status = row.status
        rank = STATUS_RANK[outcome.status]
        while at and STATUS_RANK.get(history[at - 1]["status"], -1) > rank:
            at -= 1
    history.insert(at, outcome.step)
    return {
        "b_id": row.id,
        "b_status": status,
        "b_status_history": history,
        "b_channel": outcome.channel or row.channel,
        "b_provider_id": row.provider_id or outcome.provider_id,
        "b_error_code": outcome.error_code or row.error_code,
        "b_updated_at": now,
    }


def delivery_report(message: Message, now: datetime, status: str, code: str | None) -> None:
    """A provider's report of what became of a message (they can come in any order)."""
    _add(message, status, now, code=code)
    if STATUS_RANK.get(status, -1) >= STATUS_RANK.get(message.status, -1):
        message.status = status
