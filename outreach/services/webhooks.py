"""Refused webhook requests, recorded without their bodies."""

from __future__ import annotations

from outreach.clock import Clock, utcnow
from outreach.store.database import Database
from outreach.store.models import WebhookRejection


def record_rejection(
    db: Database, *, endpoint: str, reason: str, status_code: int, size: int, clock: Clock = utcnow
) -> None:
    with db.transaction() as tx:
        tx.add(
            WebhookRejection(
                at=clock(), endpoint=endpoint, reason=reason, status_code=status_code, size=size
            )
        )
