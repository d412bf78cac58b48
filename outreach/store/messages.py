"""Messages and their outbox rows: this module is their only writer.

Every message in and out is a row of ``messages`` with its status history (kept whole: it is
the record); an outgoing one waiting to be sent also has an ``outbox`` row, removed once the
message has an outcome. Conversations log and queue on the hot path with prebuilt Core
statements; the dispatcher's bookkeeping (claim, sending, sent, retry, failed, unknown) goes
through the functions at the bottom, which take the rows it holds. The decisions (whether to
retry, when) are the dispatcher's; what each decision writes is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from outreach.store import leases
from outreach.store.dialect import dialect_of, insert_many, reserve_ids
from outreach.store.models import Message, OutboxItem
from outreach.store.statements import TABLES, insert_row

messages = TABLES["messages"]
outbox = TABLES["outbox"]

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
    return {"status": status, "at": at.isoformat(), **{k: v for k, v in detail.items() if v}}


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
_BY_PROVIDER_ID = select(messages.c.id, messages.c.contact_id).where(
    messages.c.channel == bindparam("channel"), messages.c.provider_id == bindparam("provider_id")
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


_MESSAGE_AND_OUTBOX = _message_and_outbox()
_INSERT_OUTBOX = insert(outbox)


def find_by_provider_id(connection: Connection, channel: str, provider_id: str) -> Any:
    """The message a provider knows by ``provider_id`` (its id and contact), if logged."""
    return connection.execute(
        _BY_PROVIDER_ID, {"channel": channel, "provider_id": provider_id}
    ).first()


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
            connection.execute(_INSERT_OUTBOX, {**queued, "message_id": message_id})
        return message_id
    params = {f"m_{k}": message[k] for k in QUEUED_MESSAGE}
    params.update({f"o_{k}": queued[k] for k in OUTBOX_ROW})
    return int(connection.execute(_MESSAGE_AND_OUTBOX, params).scalar_one())


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
    tx: Session,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    size: int,
    contact_id: int | None = None,
    item_id: int | None = None,
) -> list[tuple[int, int]]:
    """Claim up to ``size`` outbox rows due now, oldest first, as ``sending``; returns each
    row's id and its contact's, in the order they were queued."""
    ready = (outbox.c.state == "queued") & (outbox.c.not_before <= now)
    if contact_id is not None:
        ready = ready & (outbox.c.contact_id == contact_id)
    if item_id is not None:
        ready = ready & (outbox.c.id == item_id)
    rows = leases.claim(
        tx,
        outbox,
        ready=ready,
        order_by=(outbox.c.not_before, outbox.c.id),
        size=size,
        worker=worker,
        until=now + lease,
        values={"state": "sending", "attempts": outbox.c.attempts + 1},
        returning=(outbox.c.contact_id,),
    )
    return sorted((row.id, row.contact_id) for row in rows)


def release(tx: Session, item_ids: Sequence[int]) -> None:
    """Hand claimed rows back, unsent, for another worker (or a later run)."""
    leases.release(
        tx,
        outbox,
        item_ids,
        where=outbox.c.state == "sending",
        values={"state": "queued", "attempts": outbox.c.attempts - 1},
    )


def abandoned(tx: Session, now: datetime) -> list[OutboxItem]:
    """Rows left in ``sending`` by a sender whose lease ran out, locked."""
    return list(
        tx.scalars(
            select(OutboxItem)
            .where(OutboxItem.state == "sending", leases.lapsed(outbox, now))
            .with_for_update()
        )
    )


def sending(message: Message, now: datetime, attempt: int) -> None:
    message.status = "sending"
    _add(message, "sending", now, attempt=attempt)


def cancelled(tx: Session, item: OutboxItem, message: Message, now: datetime, why: str) -> None:
    """It may not go after all (opted out, erased, expired): the message says why."""
    message.status = "cancelled"
    _add(message, "cancelled", now, reason=why)
    tx.delete(item)


def sent(
    tx: Session,
    item: OutboxItem,
    message: Message,
    now: datetime,
    *,
    channel: str,
    provider_id: str | None,
    status: str,
) -> None:
    """The provider took it; ``channel`` is the one that did (the address decides)."""
    message.channel = channel
    message.provider_id = message.provider_id or provider_id
    if STATUS_RANK[status] >= STATUS_RANK.get(message.status, -1):
        message.status = status  # a delivery report may already have come
    _add(message, status, now)
    tx.delete(item)


def retrying(
    item: OutboxItem, message: Message, now: datetime, delay: timedelta, **detail: Any
) -> None:
    item.state = "queued"
    item.not_before = now + delay
    item.claimed_by = None
    item.claimed_until = None
    item.last_error = detail.get("detail")
    message.status = "queued"
    _add(message, "retrying", now, retry_in=int(delay.total_seconds()), **detail)


def unknown(
    tx: Session, item: OutboxItem, message: Message | None, now: datetime, **detail: Any
) -> None:
    """Whether the provider got it cannot be known: never resent, reported instead."""
    if message is not None:
        message.status = "unknown"
        _add(message, "unknown", now, **detail)
    tx.delete(item)


def failed(
    tx: Session, item: OutboxItem, message: Message, now: datetime, *, code: str | None, why: str
) -> None:
    message.status = "failed"
    message.error_code = code
    _add(message, "failed", now, code=code, detail=why)
    tx.delete(item)


def delivery_report(message: Message, now: datetime, status: str, code: str | None) -> None:
    """A provider's report of what became of a message (they can come in any order)."""
    _add(message, status, now, code=code)
    if STATUS_RANK.get(status, -1) >= STATUS_RANK.get(message.status, -1):
        message.status = status
