"""A person's data: subject access export, erasure, and retention of message bodies.

What is personal is marked on the models (``outreach.store.personal``): export reads every
table about a person, erasure clears every marked column and deletes personal rows, so a new
personal column is covered once it is marked. Erasure keeps anonymous counts (the contact row's
id, language and dates; message rows without their words; answers that are a choice, a number
or a date). Retention removes message bodies past their period; the rows stay, so counts and
reports are unaffected. Each is recorded in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection

from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import PHONE_SCHEMES
from outreach.contacts.phones import normalize_phone
from outreach.conversations.places import give_up_places
from outreach.errors import ContactNotFound
from outreach.scheduling.periodic import PeriodicJob
from outreach.settings import Settings
from outreach.store import audit, contacts, due, messages, personal, sessions
from outreach.store.database import Database
from outreach.store.models import Contact

# What the export calls each table: the names a person reading it would use.
EXPORT_NAMES = {
    "contact_addresses": "addresses",
    "contact_tags": "tags",
    "consent_events": "consent",
    "sessions": "conversations",
}


def export_contact(
    db: Database,
    phone: str,
    *,
    region: str = "GB",
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Everything held on one person, as plain data (a subject access request)."""
    with db.transaction() as tx:
        contact_id = _by_phone(tx.connection(), phone, region)
        tables = personal.export(tx.connection(), contact_id)
        data: dict[str, Any] = {"contact": tables.pop("contacts")[0]}
        for name, rows in tables.items():
            data[EXPORT_NAMES.get(name, name)] = rows
        data["tags"] = sorted(row["tag"] for row in data["tags"])
        audit.record(tx, "export", actor=actor, at=clock(), contact_id=contact_id)
    return data


def first_name(db: Database, phone: str, *, region: str = "GB") -> str | None:
    """The first name of the person with this number (to confirm whom a request is about);
    raises ``ContactNotFound``."""
    with db.transaction() as tx:
        found = tx.get(Contact, _by_phone(tx.connection(), phone, region))
        return found.first_name if found is not None else None


def erase_contact(
    db: Database,
    phone: str,
    *,
    region: str = "GB",
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> int:
    """Remove a person's personal data and message bodies; keep anonymous counts. Returns
    the contact id (as recorded in the audit log)."""
    now = clock()
    with db.transaction() as tx:
        c = tx.connection()
        contact_id = _by_phone(c, phone, region)
        messages.drop_queue(tx, contact_id)
        due.cancel_person(c, contact_id)
        give_up_places(tx, contact_id, now)
        sessions.end_all(c, contact_id, "erased", now)
        personal.erase(c, contact_id)
        contacts.mark_erased(c, contact_id, now)
        audit.record(tx, "erase", actor=actor, at=now, contact_id=contact_id)
    return contact_id


def purge_message_bodies(
    db: Database, *, older_than_days: int, actor: str = "retention", clock: Clock = utcnow
) -> int:
    """Remove the bodies of messages older than ``older_than_days``; returns how many."""
    now = clock()
    with db.transaction() as tx:
        purged = messages.purge_bodies(tx, now - timedelta(days=older_than_days), now)
        audit.record(
            tx,
            "retention",
            actor=actor,
            at=now,
            detail={"purged_bodies": purged, "older_than_days": older_than_days},
        )
    return purged


def retention_job(settings: Settings, db: Database, clock: Clock) -> PeriodicJob:
    """Retention on its schedule, once per period however many workers run."""
    return PeriodicJob(
        "retention",
        CronTrigger.from_crontab(settings.retention_cron, timezone="UTC"),
        lambda: purge_message_bodies(db, older_than_days=settings.retention_days, clock=clock),
        once_per_period=True,
    )


def _by_phone(connection: Connection, phone: str, region: str) -> int:
    """The person with this number (a real one, or one the phone simulator made up)."""
    found = contacts.reached_at(connection, PHONE_SCHEMES, normalize_phone(phone, region))
    if found is None:
        raise ContactNotFound()
    return found
