"""The statements a conversation needs on every message, built once and run on the
connection.

An inbound SMS is the hottest path in Outreach: a webhook must be answered within Twilio's
time-out however many arrive. Going through the ORM's unit of work cost about 0.4 ms a
statement there, three times the database's own time; these Core statements, compiled once and
cached by SQLAlchemy, skip that. The ORM stays for the rarer paths (RSVPs, events, reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach.store.models import Base

TABLES = Base.metadata.tables
contacts = TABLES["contacts"]
consent_events = TABLES["consent_events"]
contact_tags = TABLES["contact_tags"]
events = TABLES["events"]
sessions = TABLES["sessions"]
messages = TABLES["messages"]
outbox = TABLES["outbox"]
due_work = TABLES["due_work"]

PERSON_COLUMNS = (
    contacts.c.id,
    contacts.c.language,
    contacts.c.timezone,
    contacts.c.channel,
    contacts.c.opted_out,
    contacts.c.erased_at,
    contacts.c.first_name,
    contacts.c.last_name,
    contacts.c.fields,
)
# Editable from a flow's ``set``: a column of its own; other names go into ``fields``.
CONTACT_COLUMNS = ("first_name", "last_name", "language", "timezone")


@dataclass(slots=True)
class Person:
    """The contact a transaction holds locked, as the conversation reads and changes it."""

    id: int
    language: str
    timezone: str
    channel: str
    opted_out: bool
    erased_at: datetime | None
    first_name: str | None
    last_name: str | None
    fields: dict[str, Any]
    created: bool = False  # made by this transaction: no tags or conversations yet

    @classmethod
    def from_row(cls, row: Row[Any], *, created: bool = False) -> Person:
        return cls(
            id=row.id,
            language=row.language,
            timezone=row.timezone,
            channel=row.channel,
            opted_out=row.opted_out,
            erased_at=row.erased_at,
            first_name=row.first_name,
            last_name=row.last_name,
            fields=row.fields,
            created=created,
        )


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A stored conversation: enough to run the engine and update it."""

    id: int
    status: str
    event_id: str | None
    state: str | None


def _locked(column: Any) -> Any:
    return select(*PERSON_COLUMNS).where(column == bindparam("key")).with_for_update()


PERSON_BY = {
    "id": _locked(contacts.c.id),
    "phone": _locked(contacts.c.phone),
    "slack_user_id": _locked(contacts.c.slack_user_id),
}
WAITING_SESSION = select(
    sessions.c.id, sessions.c.status, sessions.c.event_id, sessions.c.state
).where(sessions.c.contact_id == bindparam("contact_id"), sessions.c.status == "waiting")
SESSION_BY_ID = select(
    sessions.c.id, sessions.c.status, sessions.c.event_id, sessions.c.state
).where(sessions.c.id == bindparam("session_id"))
TAGS = select(contact_tags.c.tag).where(contact_tags.c.contact_id == bindparam("contact_id"))
EVENT = select(
    events.c.title,
    events.c.starts_at,
    events.c.ends_at,
    events.c.capacity,
    events.c.details,
    events.c.config,
).where(events.c.id == bindparam("event_id"))
rsvps = TABLES["rsvps"]
PLACES_TAKEN = (
    select(func.count())
    .select_from(rsvps)
    .where(rsvps.c.event_id == bindparam("event_id"), rsvps.c.status.in_(("yes", "offered")))
)
MESSAGE_BY_PROVIDER_ID = select(messages.c.id, messages.c.contact_id).where(
    messages.c.channel == bindparam("channel"), messages.c.provider_id == bindparam("provider_id")
)
DUE_ITEM = select(
    due_work.c.id,
    due_work.c.kind,
    due_work.c.contact_id,
    due_work.c.session_id,
    due_work.c.seq,
    due_work.c.due_at,
    due_work.c.expires_at,
).where(due_work.c.id == bindparam("due_id"))
DELETE_DUE = delete(due_work).where(due_work.c.id == bindparam("due_id"))
DELETE_SESSION_DUE = delete(due_work).where(due_work.c.session_id == bindparam("session_id"))
SET_CONSENT = (
    update(contacts)
    .where(contacts.c.id == bindparam("contact_id"))
    .values(opted_out=bindparam("opted_out"), updated_at=bindparam("at"))
)
INSERT_CONSENT = insert(consent_events)
_RETURNING_ID = {
    name: insert(table).returning(table.c.id) for name, table in TABLES.items() if "id" in table.c
}


def insert_row(connection: Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row into ``table``; returns its id."""
    return int(connection.execute(_RETURNING_ID[table], values).scalar_one())


QUEUED_MESSAGE = (
    "contact_id",
    "channel",
    "direction",
    "body",
    "kind",
    "status",
    "status_history",
    "encoding",
    "segments",
    "flow",
    "step",
    "session_id",
    "created_at",
    "updated_at",
)
OUTBOX_ROW = (
    "contact_id",
    "channel",
    "urgent",
    "consent_exempt",
    "state",
    "not_before",
    "expires_at",
    "attempts",
    "created_at",
)


def _message_and_outbox() -> Any:
    """PostgreSQL: the outgoing message and its outbox row in one statement (one round
    trip instead of two), the outbox row taking the new message's id from a CTE."""
    logged = (
        insert(messages)
        .values(
            {name: bindparam(f"m_{name}", type_=messages.c[name].type) for name in QUEUED_MESSAGE}
        )
        .returning(messages.c.id)
        .cte("logged")
    )
    queued = select(
        logged.c.id, *(bindparam(f"o_{name}", type_=outbox.c[name].type) for name in OUTBOX_ROW)
    )
    return (
        insert(outbox)
        .from_select(["message_id", *OUTBOX_ROW], queued)
        .returning(outbox.c.message_id)
    )


MESSAGE_AND_OUTBOX = _message_and_outbox()


def queue_message(
    connection: Connection, message: dict[str, Any], queued: dict[str, Any] | None
) -> int:
    """Log an outgoing message and, unless ``queued`` is None, put it in the outbox; returns
    the message's id."""
    if queued is None or connection.dialect.name != "postgresql":
        message_id = insert_row(connection, "messages", message)
        if queued is not None:
            connection.execute(insert(outbox), {**queued, "message_id": message_id})
        return message_id
    params = {f"m_{k}": message[k] for k in QUEUED_MESSAGE}
    params.update({f"o_{k}": queued[k] for k in OUTBOX_ROW})
    return int(connection.execute(MESSAGE_AND_OUTBOX, params).scalar_one())


def update_session(connection: Connection, session_id: int, values: dict[str, Any]) -> None:
    connection.execute(update(sessions).where(sessions.c.id == session_id).values(**values))


def update_contact(connection: Connection, contact_id: int, values: dict[str, Any]) -> None:
    connection.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


def lock_person(connection: Connection, by: str, key: Any) -> Person | None:
    """The contact, locked for this transaction (``FOR UPDATE`` on PostgreSQL; SQLite's one
    writer is lock enough)."""
    row = connection.execute(PERSON_BY[by], {"key": key}).first()
    return Person.from_row(row) if row is not None else None


NEW_CONTACT = ("channel", "language", "timezone", "fields", "opted_out", "created_at", "updated_at")
CONSENT_ROW = ("status", "source", "words", "at")
_CREATE: dict[tuple[str, str], Any] = {}


def _create_statement(dialect_name: str, by: str) -> Any:
    """Insert a contact unless one with the ``by`` key exists, returning it; on PostgreSQL
    its first consent event goes in the same statement (a CTE), saving a round trip."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    made = (
        dialect.insert(contacts)
        .values({n: bindparam(f"c_{n}", type_=contacts.c[n].type) for n in (by, *NEW_CONTACT)})
        .on_conflict_do_nothing(index_elements=[by])
        .returning(*PERSON_COLUMNS)
    )
    if dialect_name != "postgresql":
        return made
    new = made.cte("made")
    consent = insert(consent_events).from_select(
        ["contact_id", *CONSENT_ROW],
        select(
            new.c.id,
            *(bindparam(f"k_{n}", type_=consent_events.c[n].type) for n in CONSENT_ROW),
        ),
    )
    return select(*new.c).add_cte(consent.cte("consent"))


def create_person(
    connection: Connection, by: str, values: dict[str, Any], consent: dict[str, Any]
) -> Person | None:
    """Insert a contact, with the consent event that made them one, unless a contact with
    the same ``by`` key exists (then None: another transaction made it first)."""
    key = (connection.dialect.name, by)
    statement = _CREATE.get(key)
    if statement is None:
        statement = _CREATE[key] = _create_statement(*key)
    params = {f"c_{n}": values[n] for n in (by, *NEW_CONTACT)}
    params.update({f"k_{n}": consent[n] for n in CONSENT_ROW})
    row = connection.execute(statement, params).first()
    if row is None:
        return None
    if connection.dialect.name != "postgresql":
        connection.execute(INSERT_CONSENT, {"contact_id": row.id, **consent})
    return Person.from_row(row, created=True)


def add_tag(connection: Connection, contact_id: int, tag: str) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(contact_tags)
        .values(contact_id=contact_id, tag=tag)
        .on_conflict_do_nothing(index_elements=["contact_id", "tag"])
    )
