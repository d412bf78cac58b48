"""Fixtures for services running on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations, Inbound
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.services.events import Events
from outreach.services.runtime import due_work
from outreach.settings import Settings
from outreach.store import contacts, sessions
from outreach.store.database import Database
from outreach.store.models import Base, Contact, ContactAddress, Event
from tests.conftest import ROOT, mobile


@pytest.fixture
def clock(t0: datetime) -> ManualClock:
    return ManualClock(t0)


@pytest.fixture
def service(db: Database, engine: Engine, settings: Settings, clock: ManualClock) -> Conversations:
    return Conversations(db, engine, settings=settings, clock=clock)


@pytest.fixture
def translated(
    db: Database, shipped_flows: dict[str, FlowDefinition], settings: Settings, clock: ManualClock
) -> Conversations:
    """Conversations that translate and understand with the shipped catalogs."""
    catalogs = Catalogs(ROOT / "locales")
    engine = Engine(shipped_flows, translate=catalogs.gettext, vocabulary=Vocabulary(catalogs))
    return Conversations(db, engine, settings=settings, clock=clock)


def fire_due(service: Conversations) -> int:
    """Do what is due now, as a worker's tick would; returns how many rows were done."""
    events = Events(service.db, service, {}, settings=service.settings, clock=service.clock)
    return due_work(service.db, service, events, clock=service.clock).run().total()


def add_contact(
    db: Database, n: int = 0, *, at: datetime, slack_user_id: str | None = None, **values: Any
) -> int:
    """A contact with the phone number ``mobile(n)`` (and a Slack id, if given) who agreed
    to be contacted (as an import would record it)."""
    with db.transaction() as tx:
        c = tx.connection()
        person = contacts.create(
            c,
            "tel",
            mobile(n),
            {
                "language": values.pop("language", "en"),
                "timezone": values.pop("timezone", "Europe/London"),
                "fields": values.pop("fields", {}),
                "opted_out": False,
                "created_at": at,
                "updated_at": at,
            },
            {"status": "opted_in", "source": "import", "words": "signed up at a stall", "at": at},
        )
        if values:
            contacts.update_contact(c, person.id, values)
        if slack_user_id:
            contacts.add_address(tx, person.id, "slack", slack_user_id, at)
        return person.id


def contact_at(tx: Session, address: str) -> Contact | None:
    """The contact reached at ``address`` (a phone number, a Slack id), if any."""
    return tx.scalar(
        select(Contact)
        .join(ContactAddress, ContactAddress.contact_id == Contact.id)
        .where(ContactAddress.address == address)
    )


def add_event(db: Database, *, at: datetime, event_id: str = "bc-march") -> str:
    with db.transaction() as tx:
        tx.add(
            Event(
                id=event_id,
                title="Big Conversation: mental health",
                timezone="Europe/London",
                starts_at=at + timedelta(days=10),
                ends_at=at + timedelta(days=10, hours=2),
                capacity=40,
                updated_at=at,
                details={
                    "topic": "mental health support",
                    "venue": "Riverside Centre",
                    "paid": "travel and £20",
                    "access": "step-free",
                },
            )
        )
    return event_id


def count(db: Database, model: type[Base], *where: Any) -> int:
    with db.transaction() as tx:
        return tx.scalar(select(func.count()).select_from(model).where(*where)) or 0


class Phone:
    """One person texting in, with provider ids that count up like Twilio's."""

    def __init__(self, service: Conversations, n: int = 0) -> None:
        self.service = service
        self.number = mobile(n)
        self.sent = 0

    def text(self, body: str, *, sid: str | None = None) -> Any:
        self.sent += 1
        return self.service.receive(
            Inbound(
                scheme="tel",
                sender=self.number,
                text=body,
                provider_id=sid or f"SM{self.number[1:]}{self.sent:06d}",
            )
        )


def answered(db: Database, contact_id: int, name: str, *, at: datetime, event: str) -> None:
    """An answer to the post-event survey, as its conversation stores it."""
    step = {"change": "change", "helped": "helped", "rating": "rating"}[name]
    with db.transaction() as tx:
        sessions.save_answer(
            tx.connection(),
            {
                "contact_id": contact_id,
                "session_id": None,
                "event_id": event,
                "flow": "post-event-survey",
                "step": step,
                "name": name,
                "kind": "text" if name == "change" else "choice",
                "raw": "x",
                "value": "x",
                "language": "en",
                "at": at,
            },
        )


@contextmanager
def commits(db: Database) -> Iterator[list[int]]:
    """Counts the transactions committed on ``db`` inside the block."""
    seen: list[int] = []

    def committed(_connection: object) -> None:
        seen.append(1)

    event.listen(db.engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", committed)


_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refused BEFORE INSERT ON {table} WHEN NEW.contact_id = {id}"
        " BEGIN SELECT RAISE(ABORT, 'this person cannot be stored'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refused() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.contact_id = {id} THEN RAISE 'this person cannot be stored'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER refused BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refused()",
    ],
}
_ACCEPT = {
    "sqlite": ["DROP TRIGGER refused"],
    "postgresql": ["DROP TRIGGER refused ON {table}", "DROP FUNCTION refused()"],
}


@contextmanager
def refusing(db: Database, table: str, contact_id: int) -> Iterator[None]:
    """Inside the block the database refuses rows of ``table`` for one person (as a
    constraint or a full disk would: the whole transaction fails with it)."""
    dialect = db.engine.dialect.name
    _run(db, _REFUSE[dialect], table=table, id=contact_id)
    try:
        yield
    finally:
        _run(db, _ACCEPT[dialect], table=table)


def _run(db: Database, statements: list[str], **values: object) -> None:
    with db.transaction() as tx:
        for statement in statements:
            tx.execute(text(statement.format(**values)))
