"""Coordinators' logins: failed attempts and live sessions. This module is the only writer of
``login_failures`` and ``login_sessions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from outreach.store.models import LoginFailure, LoginSession


def failures_since(tx: Session, who: str, since: datetime) -> list[datetime]:
    """When ``who`` got the password wrong since ``since``, oldest first."""
    return list(
        tx.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.who == who, LoginFailure.at > since)
            .order_by(LoginFailure.at)
        )
    )


def failed(tx: Session, who: str, at: datetime) -> None:
    tx.add(LoginFailure(who=who[:128], at=at))


def forgive(tx: Session, who: str) -> None:
    """A right password: ``who``'s earlier mistakes no longer count."""
    tx.execute(delete(LoginFailure).where(LoginFailure.who == who))


def open_session(tx: Session, key: str, *, at: datetime, expires_at: datetime) -> None:
    tx.add(LoginSession(id=key, created_at=at, expires_at=expires_at))


def session_alive(tx: Session, key: str, now: datetime) -> bool:
    found = tx.get(LoginSession, key)
    return found is not None and found.revoked_at is None and found.expires_at > now


def revoke(tx: Session, key: str, at: datetime) -> None:
    tx.execute(update(LoginSession).where(LoginSession.id == key).values(revoked_at=at))


def purge(tx: Session, *, failures_before: datetime, sessions_before: datetime) -> int:
    """Forget failures out of every window and sessions long over; returns rows removed."""
    removed = 0
    for statement in (
        delete(LoginFailure).where(LoginFailure.at < failures_before),
        delete(LoginSession).where(LoginSession.expires_at < sessions_before),
    ):
        result = tx.execute(statement, execution_options={"preserve_rowcount": True})
        removed += int(getattr(result, "rowcount", 0))
    return removed
