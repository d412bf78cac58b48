"""The dispatcher at a configured send rate, through the real twilio client to the fake Twilio:
every message goes once, each person's in the order queued, no faster than the rate, and the
bookkeeping takes far fewer transactions than there are messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from outreach.channels.fake_twilio import FakeTwilio
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store import consent
from outreach.store import messages as stored_messages
from outreach.store.database import Database
from outreach.store.models import Contact, ContactAddress, Message, OutboxItem
from tests.web.conftest import twilio_settings

PEOPLE = 60
EACH = 3  # messages queued for each person, in this order


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(latency=0.02, send_callbacks=False) as running:
        yield running


def sending(settings: Settings, db: Database, fake: FakeTwilio, rate: float) -> Runtime:
    """A runtime that sends through ``fake`` at ``rate`` messages a second (no callbacks)."""
    unused = "http://127.0.0.1:9"
    return Runtime.build(twilio_settings(settings, db, fake, unused, send_rate=rate), db=db)


def queue(db: Database, people: int, each: int) -> dict[str, list[str]]:
    """``each`` messages for each of ``people`` people, queued one person after another (so
    a person's later message is not simply the next row); returns each number's bodies in
    the order queued."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    queued: dict[str, list[str]] = defaultdict(list)
    with db.transaction() as tx:
        connection = tx.connection()
        for turn in range(each):
            for n in range(people):
                number = f"+4474{20_000_000 + n:08d}"
                if turn == 0:
                    person = connection.execute(
                        Contact.__table__.insert().returning(Contact.__table__.c.id),
                        {"fields": {}, "language": "en", "timezone": "Europe/London"}
                        | {"opted_out": False, "created_at": now, "updated_at": now},
                    ).scalar_one()
                    connection.execute(
                        ContactAddress.__table__.insert(),
                        {"contact_id": person, "scheme": "tel", "address": number}
                        | {"created_at": now},
                    )
                person, address = connection.execute(
                    select(ContactAddress.contact_id, ContactAddress.id).where(
                        ContactAddress.address == number
                    )
                ).one()
                body = f"Message {turn} to {n}"
                stored_messages.queue(
                    connection,
                    {"contact_id": person, "address_id": address, "channel": "sms"}
                    | {"direction": "out", "body": body, "content": None, "kind": "message"}
                    | {"status": "queued", "status_history": [], "encoding": None}
                    | {"segments": 1, "flow": None, "step": None, "session_id": None}
                    | {"created_at": now, "updated_at": now},
                    {"contact_id": person, "address_id": address, "urgent": False}
                    | {"consent_exempt": False, "state": "queued", "not_before": now}
                    | {"expires_at": None, "attempts": 0, "created_at": now},
                )
                queued[number].append(body)
    return queued


def test_every_message_goes_once_in_each_persons_order_no_faster_than_the_rate(
    settings: Settings, db: Database, fake: FakeTwilio
) -> None:
    rate = 200.0
    queued = queue(db, PEOPLE, EACH)
    runtime = sending(settings, db, fake, rate)
    assert str(runtime.dispatcher.flush()) == f"{PEOPLE * EACH} sent"

    arrived: dict[str, list[str]] = defaultdict(list)
    for message in fake.messages:
        arrived[message["to"]].append(message["body"])
    assert arrived == queued  # each once, each person's in the order queued
    times = sorted(fake.arrivals)
    # No second holds more than the rate allows (a slot may be used up to 0.1 s late).
    for i, start in enumerate(times):
        in_a_second = sum(1 for t in times[i:] if t < start + 1.0)
        assert in_a_second <= rate * 1.1 + 1, f"{in_a_second} messages in a second"
    with db.transaction() as tx:
        statuses = set(tx.scalars(select(Message.status).where(Message.direction == "out")))
        left = tx.scalar(select(func.count()).select_from(OutboxItem))
    assert statuses == {"accepted"} and left == 0


def test_the_bookkeeping_takes_far_fewer_transactions_than_messages(
    settings: Settings, db: Database, fake: FakeTwilio
) -> None:
    queue(db, PEOPLE, EACH)
    runtime = sending(settings, db, fake, 1000.0)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(db.engine, "commit", committed)
    try:
        report = runtime.dispatcher.flush()
    finally:
        event.remove(db.engine, "commit", committed)
    assert report.counts == {"sent": PEOPLE * EACH}
    # Claims of a tenth of a second's sends, outcomes recorded together, slots reserved a
    # hundred at a time: a transaction for each ten messages or more, not two each.
    assert 0 < len(commits) <= PEOPLE * EACH / 10, f"{len(commits)} transactions"


def test_a_person_who_opted_out_after_queueing_gets_nothing(
    settings: Settings, db: Database, fake: FakeTwilio
) -> None:
    queued = queue(db, 5, 2)
    stopped = "+447420000003"
    with db.transaction() as tx:
        person = tx.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.address == stopped)
        )
        assert person is not None
        consent.record(
            tx.connection(),
            person,
            "opted_out",
            source="keyword",
            words="STOP",
            at=datetime.now(UTC),
            opted_out=False,
        )
    report = sending(settings, db, fake, 100.0).dispatcher.flush()
    assert report.counts == {"sent": 8, "cancelled": 2}
    assert fake.sent_to(stopped) == []
    assert sorted(m["body"] for m in fake.messages) == sorted(
        body for number, bodies in queued.items() if number != stopped for body in bodies
    )
