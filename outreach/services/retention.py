"""Retention: message bodies are kept only as long as they are needed.

Bodies older than the retention period are removed; the message rows (who, when, which flow,
delivery status) and the answers stay, so counts and reports are unaffected.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update

from outreach.clock import Clock, utcnow
from outreach.store.database import Database
from outreach.store.models import AuditEntry, Message


def purge_message_bodies(
    db: Database, *, older_than_days: int, actor: str = "retention", clock: Clock = utcnow
) -> int:
    """Remove the bodies of messages older than ``older_than_days``; returns how many."""
    now = clock()
    cutoff = now - timedelta(days=older_than_days)
    with db.transaction() as tx:
        result = cast(
            CursorResult[Any],
            tx.execute(
                update(Message)
                .where(Message.created_at < cutoff, Message.body.is_not(None))
                .values(body=None, updated_at=now)
            ),
        )
        purged = result.rowcount
        tx.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="retention",
                detail={
                    "purged_bodies": purged,
                    "older_than_days": older_than_days,
                },
            )
        )
    return purged
