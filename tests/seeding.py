"""Bulk data for tests and benchmarks that need thousands of rows quickly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

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


@dataclass
class Planted:
    """One synthetic participant of an event: who they say they are, their RSVP, their tags
    and their answers as ``(flow, step, name, kind, value)``."""

    status: str
    language: str = "en"
    age_band: str | None = None
    ethnicity: str | None = None
    disability: str | None = None
    postcode_district: str | None = None
    first_name: str | None = None
    tags: list[str] = field(default_factory=list)
    answers: list[tuple[str, str, str, str, Any]] = field(default_factory=list)


def plant_event(
    db: Database, event_id: str, people: list[Planted], *, at: datetime, number_from: int = 0
) -> list[int]:
    """An event and its participants, written in bulk; returns their contact ids in order."""
    with db.transaction() as tx:
        connection = tx.connection()
        if not connection.execute(
            select(Base.metadata.tables["events"].c.id).where(
                Base.metadata.tables["events"].c.id == event_id
            )
        ).first():
            connection.execute(
                insert(Base.metadata.tables["events"]),
                [
                    {
                        "id": event_id,
                        "title": f"Big Conversation {event_id}",
                        "starts_at": at + timedelta(days=7),
                        "ends_at": at + timedelta(days=7, hours=2),
                        "timezone": "Europe/London",
                        "capacity": None,
                        "details": {"venue": {"en": "Riverside Community Centre"}},
                        "config": {},
                        "updated_at": at,
                    }
                ],
            )
        ids = _insert(
            connection,
            "contacts",
            [
                {
                    "first_name": p.first_name,
                    "language": p.language,
                    "timezone": "Europe/London",
                    "fields": {},
                    "age_band": p.age_band,
                    "ethnicity": p.ethnicity,
                    "disability": p.disability,
                    "postcode_district": p.postcode_district,
                    "opted_out": False,
                    "created_at": at,
                    "updated_at": at,
                }
                for p in people
            ],
        )
        connection.execute(
            insert(Base.metadata.tables["contact_addresses"]),
            [
                {
                    "contact_id": cid,
                    "scheme": "tel",
                    "address": f"+4475{number_from + i:08d}",
                    "created_at": at,
                }
                for i, cid in enumerate(ids)
            ],
        )
        connection.execute(
            insert(Base.metadata.tables["consent_events"]),
            [
                {"contact_id": cid, "status": "opted_in", "source": "import", "at": at}
                for cid in ids
            ],
        )
        tags = [
            {"contact_id": cid, "tag": t}
            for cid, p in zip(ids, people, strict=True)
            for t in p.tags
        ]
        if tags:
            connection.execute(insert(Base.metadata.tables["contact_tags"]), tags)
        connection.execute(
            insert(Base.metadata.tables["rsvps"]),
            [
                {
                    "event_id": event_id,
                    "contact_id": cid,
                    "status": p.status,
                    "invited_at": at,
                    "updated_at": at,
                }
                for cid, p in zip(ids, people, strict=True)
            ],
        )
        answers = [
            {
                "contact_id": cid,
                "event_id": event_id,
                "flow": flow,
                "step": step,
                "name": name,
                "kind": kind,
                "raw": str(value),
                "value": value,
                "language": p.language,
                "at": at,
            }
            for cid, p in zip(ids, people, strict=True)
            for flow, step, name, kind, value in p.answers
        ]
        if answers:
            connection.execute(insert(Base.metadata.tables["answers"]), answers)
    return ids
