"""Twilio misbehaves while a message goes out to forty people: rate limits, outages, answers
that never come, callbacks that never come, and one person who says STOP half-way. At the end
every message is accounted for, none twice, and the person who said STOP got nothing more."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import ContactAddress, Message
from tests.conftest import mobile
from tests.faults.accounting import account
from tests.services.conftest import add_contact
from tests.web.conftest import make_site

PEOPLE = 40
STOPPER = 7


def test_every_message_is_accounted_for_through_provider_faults(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    with FakeTwilio(send_callbacks=True) as fake, make_site(settings, db, fake, clock) as site:
        rt = site.runtime
        people = [add_contact(db, n, at=clock.now) for n in range(PEOPLE)]
        for person in people:
            rt.conversations.start(person, "event-changed")
        fake.fail_next(3, status=429, code=20429)
        fake.fail_next(2, status=500, code=20500)
        fake.refuse[mobile(3)] = 21211  # not a valid number: fails, with its reason
        rt.dispatcher.flush(limit=10)

        fake.send_callbacks = False  # reports for the next ones are lost on the way
        fake.latency = 3.0  # longer than the 2 s send time-out: sent, but we cannot know
        rt.dispatcher.flush(limit=2)
        fake.latency = 0
        assert site.text_in(mobile(STOPPER), "STOP", sid="SM" + "5" * 32).status_code == 200
        stopped_at = len(fake.messages)
        rt.dispatcher.flush(limit=10)
        fake.send_callbacks = True
        for _ in range(6):  # retries wait: let their time come
            clock.advance(timedelta(hours=1))
            rt.dispatcher.flush()
        fake.wait_for_callbacks()

    # After STOP the person gets its confirmation, and nothing else.
    with db.transaction() as tx:
        confirmation = tx.scalar(
            select(Message.body)
            .join(ContactAddress, Message.address_id == ContactAddress.id)
            .where(ContactAddress.address == mobile(STOPPER), Message.direction == "out")
            .order_by(Message.id.desc())
            .limit(1)
        )
    assert confirmation is not None
    after_stop = [m["to"] for m in fake.messages[stopped_at:] if m["body"] != confirmation]
    bodies = Counter((m["to"], m["body"]) for m in fake.messages)
    assert max(bodies.values()) == 1, "a message went twice"
    result = account(
        db,
        acknowledged=["SM" + "5" * 32],
        sent_numbers=after_stop,
        opted_out_numbers={mobile(STOPPER)},
    )
    result.assert_whole()
    assert result.outgoing["failed"] >= 1 and result.outgoing["unknown"] == 2
