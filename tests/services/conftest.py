"""Fixtures for services running on a real store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from outreach.clock import ManualClock
from outreach.flows.engine import Engine
from outreach.services.conversations import Conversations, Inbound
from outreach.services.due import DueWorkRunner
from outreach.services.events import Events
from outreach.settings import Settings
from outreach.store.consent import record_consent
from outreach.store.database import Database
from outreach.store.models import Base, Contact, Event
from tests.conftest import mobile


@pytest.fixture
def clock(t0: datetime) -> ManualClock:
    return ManualClock(t0)


@pytest.fixture
def service(db: Database, engine: Engine, settings: Settings, clock: ManualClock) -> Conversations:
    return Conversations(db, engine, settings=settings, clock=clock)


def fire_due(service: Conversations) -> int:
    """Do what is due now, as a worker's tick would; returns how many rows were done."""
    events = Events(service.db, service, {}, settings=service.settings, clock=service.clock)
    return DueWorkRunner(service.db, service, events, clock=service.clock).run().total()


def add_contact(db: Database, n: int = 0, *, at: datetime, **values: Any) -> int:
    """A contact who agreed to be contacted (as an import would record it)."""
    with db.transaction() as tx:
        contact = Contact(phone=mobile(n), fields={}, created_at=at, updated_at=at, **values)
        tx.add(contact)
        tx.flush()
        record_consent(
            tx, contact, "opted_in", source="import", words="signed up at a stall", at=at
        )
        return contact.id


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
                channel="sms",
                sender=self.number,
                text=body,
                provider_id=sid or f"SM{self.number[1:]}{self.sent:06d}",
            )
        )
