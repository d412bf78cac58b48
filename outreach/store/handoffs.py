"""Conversations a person should pick up (asked for, not understood, a possible opt-out): this
module is the only writer of ``handoffs``.

A handoff is ``open`` until someone from the team answers (``claimed``) and ``closed`` when
they resolve it. While it is open after the person asked for a human (or once the team has
answered), what the person texts goes to the team, not to the flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, literal_column, select, update

from outreach.store.lean import Lean
from outreach.store.models import Handoff
from outreach.store.statements import insert_row

OPEN = ("open", "claimed")
# Reasons where the person asked to talk to someone (or must be talked to): their texts go to
# the team at once.
TALKING = ("human", "handoff", "safeguarding")


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
    flow: str | None = None,
    step: str | None = None,
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
            "flow": flow,
            "step": step,
        },
    )


def is_open(connection: Connection, contact_id: int, reason: str) -> bool:
    """Whether a handoff for this reason is already open for the person."""
    found = connection.execute(
        select(Handoff.id)
        .where(Handoff.contact_id == contact_id, Handoff.reason == reason, Handoff.status.in_(OPEN))
        .limit(1)
    ).first()
    return found is not None


def _words(*values: str) -> list[Any]:
    """Fixed words written into the SQL (``IN ('open', 'claimed')``), not bound as a list."""
    assert all(value.isidentifier() for value in values)
    return [literal_column(f"'{value}'") for value in values]


def _latest_open(which: Any) -> Lean:
    """A person's newest open handoff of those ``which`` picks (asked of every text a person
    sends, so it is run lean: ``outreach.store.lean``)."""
    return Lean(
        select(Handoff.id)
        .where(
            Handoff.contact_id == bindparam("contact_id"),
            Handoff.status.in_(_words(*OPEN)),
            which,
        )
        .order_by(Handoff.id.desc())
        .limit(1)
    )


_TALKING = _latest_open(Handoff.reason.in_(_words(*TALKING)) | Handoff.answered_at.is_not(None))
_TALKING_FOR = _latest_open(Handoff.reason == bindparam("reason"))


def talking(connection: Connection, contact_id: int, *, reason: str | None = None) -> int | None:
    """The open handoff the person's texts go to, if any: one they asked for, or one the
    team has answered (only one for ``reason``, if given)."""
    if reason is None:
        found = _TALKING.first(connection, {"contact_id": contact_id})
    else:
        found = _TALKING_FOR.first(connection, {"contact_id": contact_id, "reason": reason})
    return int(found.id) if found is not None else None


def latest_open(connection: Connection, contact_id: int) -> int | None:
    """The person's newest open handoff, whatever its reason."""
    found = connection.execute(
        select(Handoff.id)
        .where(Handoff.contact_id == contact_id, Handoff.status.in_(OPEN))
        .order_by(Handoff.id.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def get(connection: Connection, handoff_id: int) -> Any:
    return connection.execute(select(Handoff).where(Handoff.id == handoff_id)).first()


def by_thread(connection: Connection, channel: str, thread_ts: str) -> Any:
    return connection.execute(
        select(Handoff).where(Handoff.thread_ts == thread_ts, Handoff.slack_channel == channel)
    ).first()


def listed(connection: Connection, *, everything: bool = False, limit: int = 200) -> Sequence[Any]:
    """Handoffs, newest first: the open ones, or all."""
    query = select(Handoff).order_by(Handoff.id.desc()).limit(limit)
    if not everything:
        query = query.where(Handoff.status.in_(OPEN))
    return connection.execute(query).all()


def waiting_since(connection: Connection, raised_before: datetime) -> Sequence[Any]:
    """Open handoffs nobody has answered, last raised before ``raised_before``."""
    return connection.execute(
        select(Handoff).where(
            Handoff.status == "open",
            Handoff.answered_at.is_(None),
            Handoff.raised_at.is_not(None),
            Handoff.raised_at < raised_before,
        )
    ).all()


def posted(
    connection: Connection,
    handoff_id: int,
    *,
    partner: str | None,
    channel: str,
    ts: str,
    now: datetime,
) -> None:
    """The handoff's thread is up in a Slack channel."""
    connection.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id)
        .values(partner=partner, slack_channel=channel, thread_ts=ts, raised_at=now)
    )


def raised(connection: Connection, handoff_id: int, now: datetime) -> None:
    connection.execute(update(Handoff).where(Handoff.id == handoff_id).values(raised_at=now))


def answered(connection: Connection, handoff_id: int, now: datetime) -> None:
    """Someone from the team replied: from now on the person's texts go to them."""
    connection.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.answered_at.is_(None))
        .values(answered_at=now, status="claimed")
    )


def close(connection: Connection, handoff_id: int, *, by: str, now: datetime) -> bool:
    """Resolve the handoff; False if it was closed already."""
    done = connection.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status.in_(OPEN))
        .values(status="closed", closed_at=now, closed_by=by[:64])
    )
    return bool(done.rowcount)
