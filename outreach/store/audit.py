"""The audit log: what a coordinator (or a scheduled job) did. No personal data, only counts
and a contact's bare id. This module is the table's only writer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.store.models import AuditEntry


def record(
    tx: Session,
    action: str,
    *,
    actor: str,
    at: datetime,
    contact_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    tx.add(
        AuditEntry(at=at, actor=actor, action=action, contact_id=contact_id, detail=detail or {})
    )
