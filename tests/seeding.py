"""Bulk data for tests and benchmarks that need thousands of rows quickly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from outreach.store.database import Database
from outreach.store.models import Base


def _insert(connection: Connection, table: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their new ids, in the order given."""
    target = Base.metadata.tables[table]
    statement = insert(target).returning(target.c.id, sort_by_parameter_order=True)
    return list(connection.execute(statement, rows).scalars())


def queue_messages(db: Database, count: int) -> None:
    """``count`` people, each with one queued message (written in bulk, as invitations are)."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    with db.transaction() as tx:
        connection = tx.connection()
        base = {"fields": {}, "language": "en", "timezone": "Europe/London", "opted_out": False}
        ids = _insert(
            connection,
            "contacts",
            [{**base, "created_at": now, "updated_at": now} for _ in range(count)],
        )
        address_ids = _insert(
            connection,
            "contact_addresses",
            [
                {
                    "contact_id": cid,
                    "scheme": "tel",
                    "address": f"+4474{10_000_000 + i:08d}",
                    "created_at": now,
                }
                for i, cid in enumerate(ids)
            ],
        )
        message_ids = _insert(
            connection,
            "messages",
            [
                {
                    "contact_id": cid,
                    "address_id": aid,
                    "channel": "sms",
                    "direction": "out",
                    "body": f"Message {i}",
                    "content": {"text": f"Message {i}", "kind": "message"},
                    "kind": "message",
                    "status": "queued",
                    "status_history": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i, (cid, aid) in enumerate(zip(ids, address_ids, strict=True))
            ],
        )
        connection.execute(
            insert(Base.metadata.tables["outbox"]),
            [
                {
                    "message_id": mid,
                    "contact_id": cid,
                    "address_id": aid,
                    "urgent": False,
                    "consent_exempt": False,
                    "state": "queued",
                    "not_before": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for mid, cid, aid in zip(message_ids, ids, address_ids, strict=True)
            ],
        )
