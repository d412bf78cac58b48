"""Decisions and who was told each: this module is the only writer of ``decisions`` and
``decision_recipients``.

A person's row is their claim: it is written in the transaction that queues their message,
so however many runs (or coordinators) send a decision, each person is sent it once. People
not sent it are recorded with why, and looked at again by a later run (a text in their
language may have been added since).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from outreach.store.models import Decision, DecisionRecipient

SENT = "sent"
OUTCOMES = (SENT, "opted_out", "no_text", "unreachable")


def save(
    tx: Session,
    decision_id: str,
    *,
    title: str,
    spec: dict[str, Any],
    source: str,
    actor: str,
    now: datetime,
) -> bool:
    """Record the decision as it now reads (its first recording's time and author stay);
    False if it already read so."""
    row = tx.get(Decision, decision_id)
    if row is None:
        row = Decision(
            id=decision_id,
            title=title,
            spec=spec,
            source=source,
            recorded_by=actor,
            recorded_at=now,
            updated_at=now,
        )
        tx.add(row)
    elif row.spec != spec or row.title != title or row.source != source:
        row.title, row.spec, row.source, row.updated_at = title, spec, source, now
    else:
        return False
    tx.flush()
    return True


def get(tx: Session, decision_id: str) -> Decision | None:
    return tx.get(Decision, decision_id)


def listed(tx: Session) -> Sequence[Decision]:
    """Every recorded decision, newest first."""
    return tx.scalars(select(Decision).order_by(Decision.recorded_at.desc(), Decision.id)).all()


def outcome_of(connection: Connection, decision_id: str, contact_id: int) -> str | None:
    """What became of telling this person, if anything yet (read under their lock)."""
    return connection.execute(
        select(DecisionRecipient.outcome).where(
            DecisionRecipient.decision_id == decision_id,
            DecisionRecipient.contact_id == contact_id,
        )
    ).scalar()


def record(
    connection: Connection,
    decision_id: str,
    contact_id: int,
    *,
    outcome: str,
    language: str,
    now: datetime,
    message_id: int | None = None,
) -> None:
    """What became of telling this person (called under their lock, so a row found is
    theirs to change)."""
    assert outcome in OUTCOMES, outcome
    values = {"outcome": outcome, "language": language, "message_id": message_id, "at": now}
    if outcome_of(connection, decision_id, contact_id) is None:
        connection.execute(
            insert(DecisionRecipient),
            {"decision_id": decision_id, "contact_id": contact_id, **values},
        )
        return
    connection.execute(
        update(DecisionRecipient)
        .where(
            DecisionRecipient.decision_id == decision_id,
            DecisionRecipient.contact_id == contact_id,
        )
        .values(values)
    )


def follow_up_started(
    connection: Connection, decision_id: str, contact_id: int, session_id: int
) -> None:
    """The follow-up conversation the person was started on, whose answers are theirs."""
    connection.execute(
        update(DecisionRecipient)
        .where(
            DecisionRecipient.decision_id == decision_id,
            DecisionRecipient.contact_id == contact_id,
        )
        .values(session_id=session_id)
    )


def outcomes(tx: Session, decision_id: str) -> dict[tuple[str, str], int]:
    """How many people per (outcome, language)."""
    rows = tx.execute(
        select(DecisionRecipient.outcome, DecisionRecipient.language, func.count())
        .where(DecisionRecipient.decision_id == decision_id)
        .group_by(DecisionRecipient.outcome, DecisionRecipient.language)
    ).all()
    return {(outcome, language): int(n) for outcome, language, n in rows}
