"""Personal data is marked where it is declared, and erasure clears every mark.

Export and erasure derive their columns from the marks on the models, so the risk is a new
column that holds something about a person but is not marked. Every column that could hold
words or numbers about a person (text, JSON) must be either marked personal or listed here as
not personal, with the reason: adding one forces that decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text, select

from outreach.conversations.service import Conversations
from outreach.services.privacy import erase_contact
from outreach.store.database import Database
from outreach.store.models import Base
from outreach.store.personal import about_a_contact, personal_columns
from tests.conftest import mobile
from tests.services.conftest import Phone, add_contact

NOT_PERSONAL = {
    # what a row is, in the system's own words: no person's words or identity
    "contacts": {"language", "timezone"},
    "contact_addresses": {"scheme", "undeliverable"},
    "consent_events": {"status", "source"},
    "sessions": {"flow", "flow_version", "status", "step", "event_id", "end_reason"},
    "answers": {"event_id", "flow", "step", "name", "kind", "language"},
    "messages": {
        "channel",
        "direction",
        "kind",
        "status",
        "status_history",  # statuses, times and provider error codes
        "error_code",
        "encoding",
        "flow",
        "step",
    },
    "outbox": {"state", "last_error", "claimed_by"},  # last_error never holds the body
    "rsvps": {"event_id", "status"},
    "due_work": {"kind", "event_id", "payload", "claimed_by"},  # payload: flow names and keys
    # which decision a person was told, or why not, and in which language: kept after
    # erasure so a decision's counts stay (the words sent are in messages, erased)
    "decision_recipients": {"decision_id", "outcome", "language"},
    # statements a person wrote: which conversation, language, moderation; their vote is a
    # choice (like a choice answer's value) and stays counted after erasure
    "statements": {"conversation", "language", "status", "moderated_by"},
    "statement_votes": {"vote"},
    # where the conversation was and the Slack thread that takes it up; who closed it (a
    # coordinator or a partner's Slack user id, never the person)
    "handoffs": {
        "reason",
        "team",
        "status",
        "flow",
        "step",
        "partner",
        "slack_channel",
        "thread_ts",
        "closed_by",
    },
}


def test_every_column_about_a_person_is_marked_or_declared_harmless() -> None:
    undecided = []
    tables = [Base.metadata.tables["contacts"], *about_a_contact()]
    for table in tables:
        marked = {column.key for column, _, _ in personal_columns(table)}
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON) or column.key in marked:
                continue
            if table.info.get("personal_rows"):
                continue  # the whole row is personal: deleted on erasure
            if column.key not in NOT_PERSONAL.get(table.name, set()):
                undecided.append(f"{table.name}.{column.key}")
    assert undecided == [], (
        "mark these PERSONAL in outreach/store/models.py, or list them above as not personal"
    )


def test_erasure_clears_every_marked_column(
    db: Database, service: Conversations, t0: datetime
) -> None:
    cid = add_contact(db, 8, at=t0, first_name="Nia", ethnicity="Welsh", slack_user_id="UNIA")
    service.start(cid, "post-event-survey")
    phone = Phone(service, 8)
    for reply in ("2", "1", "The hall was cold"):
        phone.text(reply)

    erase_contact(db, mobile(8))

    with db.transaction() as tx:
        c = tx.connection()
        contacts = Base.metadata.tables["contacts"]
        for column, erased, _ in personal_columns(contacts):
            value = c.execute(select(column).where(contacts.c.id == cid)).scalar_one()
            assert value == erased, f"contacts.{column.key} kept {value!r}"
        for table in about_a_contact():
            mine = table.c.contact_id == cid
            if table.info.get("personal_rows"):
                assert c.execute(select(table).where(mine)).first() is None, table.name
                continue
            for column, erased, only_if in personal_columns(table):
                where = mine if only_if is None else mine & (table.c[only_if[0]] == only_if[1])
                for value in c.execute(select(column).where(where)).scalars():
                    assert value == erased, f"{table.name}.{column.key} kept {value!r}"
