"""Bulk data for tests and benchmarks that need thousands of rows quickly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from outreach.store.database import Database
from outreach.store.models import Base


def queue_messages(db: Database, count: int) -> None:
    """``count`` people, each with one queued message (written in bulk, as invitations are)."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    tables = Base.metadata.tables
    with db.transaction() as tx:
        connection = tx.connection()
        contacts = [
            {
                "phone": f"+4474{10_000_000 + i:08d}",
                "fields": {},
                "language": "en",
                "timezone": "Europe/London",
                "channel": "sms",
                "opted_out": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        ids = [
            row.id
            for row in connection.execute(
                insert(tables["contacts"]).returning(tables["contacts"].c.id), contacts
            )
        ]
        messages = [
            {
                "contact_id": cid,
                "channel": "sms",
                "direction": "out",
                "body": f"Message {i}",
                "kind": "message",
                "status": "queued",
                "status_history": [],
                "created_at": now,
                "updated_at": now,
            }
            for i, cid in enumerate(ids)
        ]
        message_ids = [
            row.id
            for row in connection.execute(
                insert(tables["messages"]).returning(tables["messages"].c.id), messages
            )
        ]
        connection.execute(
            insert(tables["outbox"]),
            [
                {
                    "message_id": mid,
                    "contact_id": cid,
                    "channel": "sms",
                    "urgent": False,
                    "consent_exempt": False,
                    "state": "queued",
                    "not_before": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for mid, cid in zip(message_ids, ids, strict=True)
            ],
        )
