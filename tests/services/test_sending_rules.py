"""When messages may go: quiet hours in the person's time zone, and sends cut short."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Message, OutboxItem
from tests.conftest import mobile
from tests.services.conftest import Phone, add_contact, add_event, fire_due


def queued(db: Database, contact_id: int) -> list[datetime]:
    with db.transaction() as tx:
        return list(
            tx.scalars(
                select(OutboxItem.not_before)
                .where(OutboxItem.contact_id == contact_id)
                .order_by(OutboxItem.id)
            )
        )


def test_reminder_due_at_night_waits_until_nine(
    db: Database, engine: Engine, settings: Settings
) -> None:
    clock = ManualClock(datetime(2026, 1, 12, 21, 0, tzinfo=UTC))  # 21:00 in London, winter
    service = Conversations(db, engine, settings=settings, clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    assert queued(db, cid) == [datetime(2026, 1, 13, 9, 0, tzinfo=UTC)] * 2  # with its question
    clock.now = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # the reminder falls due at 23:00
    assert fire_due(service) == 1
    assert queued(db, cid)[-1] == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_each_person_in_their_own_time_zone_across_a_clock_change(
    db: Database, engine: Engine, settings: Settings
) -> None:
    # Saturday 28 March 2026, 22:00 UTC; the UK moves to summer time that night
    clock = ManualClock(datetime(2026, 3, 28, 22, 0, tzinfo=UTC))
    service = Conversations(db, engine, settings=settings, clock=clock)
    london = add_contact(db, 1, at=clock.now, timezone="Europe/London")
    new_york = add_contact(db, 2, at=clock.now, timezone="America/New_York")
    service.start(london, "you-said-we-did")
    service.start(new_york, "you-said-we-did")
    # 09:00 BST is 08:00 UTC the next morning; in New York it is 18:00 now, inside the window
    assert queued(db, london)[0] == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert queued(db, new_york)[0] == clock.now


def test_urgent_messages_and_replies_go_at_once(
    db: Database, engine: Engine, settings: Settings
) -> None:
    clock = ManualClock(datetime(2026, 1, 12, 23, 30, tzinfo=UTC))
    service = Conversations(db, engine, settings=settings, clock=clock)
    event_id = add_event(db, at=clock.now)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "event-changed", event_id=event_id)  # marked urgent in the flow
    assert queued(db, cid) == [clock.now]
    other = add_contact(db, 3, at=clock.now)
    Phone(service, 3).text("JOIN")  # they texted us: the answer goes now
    assert queued(db, other) == [clock.now]


def test_the_outbox_holds_night_messages_until_morning(
    db: Database, engine: Engine, settings: Settings
) -> None:
    from outreach.channels.simulator import SimulatorChannel
    from outreach.scheduling.dispatcher import Dispatcher

    clock = ManualClock(datetime(2026, 1, 12, 22, 0, tzinfo=UTC))
    service = Conversations(db, engine, settings=settings, clock=clock)
    outbox = Dispatcher(db, [SimulatorChannel(scheme="tel", name="sms")], clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")  # an invitation and its question
    assert str(outbox.flush()) == "nothing to send"
    clock.now = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
    assert str(outbox.flush()) == "2 sent"
    with db.transaction() as tx:
        assert set(tx.scalars(select(Message.status).where(Message.contact_id == cid))) == {
            "delivered"
        }


def test_a_flow_can_set_its_own_window(db: Database, settings: Settings, tmp_path: object) -> None:
    from outreach.flows.loader import load_text

    flow = load_text(
        "version: 1\nflow: early\ndescription: d\nquiet_hours: {start: '07:30', end: '21:00'}\n"
        "steps:\n  - id: a\n    send: Good morning\n"
    )
    clock = ManualClock(datetime(2026, 1, 12, 22, 0, tzinfo=UTC))
    service = Conversations(db, Engine({"early": flow}), settings=settings, clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "early")
    assert queued(db, cid) == [datetime(2026, 1, 13, 7, 30, tzinfo=UTC)]


def test_a_send_cut_short_is_reported_unknown_and_never_resent(
    db: Database, engine: Engine, settings: Settings
) -> None:
    from outreach.channels.simulator import SimulatorChannel
    from outreach.scheduling.dispatcher import Dispatcher

    clock = ManualClock(datetime(2026, 1, 12, 10, 0, tzinfo=UTC))
    service = Conversations(db, engine, settings=settings, clock=clock)
    outbox = Dispatcher(db, [SimulatorChannel(scheme="tel", name="sms")], clock=clock)
    cid = add_contact(db, at=clock.now)
    service.start(cid, "event-changed")
    with db.transaction() as tx:
        item_id = tx.scalar(select(OutboxItem.id))
    assert item_id is not None
    assert outbox.claim(1, item_id=item_id) == [item_id]  # claimed; then it dies
    assert outbox.reconcile() == 0  # its lease has not run out yet
    clock.now = datetime(2026, 1, 12, 10, 5, tzinfo=UTC)
    assert outbox.reconcile() == 1
    assert str(outbox.flush()) == "nothing to send"
    with db.transaction() as tx:
        message = tx.scalar(select(Message).where(Message.contact_id == cid))
        assert message is not None and message.status == "unknown"
        assert message.status_history[-1]["detail"] == (
            "the sender stopped while sending; not resent"
        )


def test_one_persons_messages_arrive_in_order_while_several_go_at_once(
    db: Database, engine: Engine, settings: Settings
) -> None:
    """The invitation's news and its question go to each person in that order, even though
    the dispatcher has several sends in flight and the first may be the slower one."""
    from outreach.channels.base import Outgoing, SendResult
    from outreach.channels.simulator import SimulatorChannel
    from outreach.scheduling.dispatcher import Dispatcher

    class Slow(SimulatorChannel):
        def __init__(self) -> None:
            super().__init__(scheme="tel", name="sms")
            self.arrived: list[tuple[str, str]] = []

        async def send(self, message: Outgoing) -> SendResult:
            if message.content.kind == "message":
                await asyncio.sleep(0.05)  # the news takes longer to go than the question
            self.arrived.append((message.to, message.content.kind))
            return await super().send(message)

    clock = ManualClock(datetime(2026, 1, 12, 10, 0, tzinfo=UTC))
    channel = Slow()
    service = Conversations(db, engine, settings=settings, clock=clock, channels={"tel": channel})
    event_id = add_event(db, at=clock.now)
    for n in range(5):
        service.start(
            add_contact(db, n, at=clock.now), "big-conversation-invite", event_id=event_id
        )
    outbox = Dispatcher(db, [channel], clock=clock, concurrency=8)
    assert str(outbox.flush()) == "10 sent"
    for n in range(5):
        kinds = [kind for to, kind in channel.arrived if to == mobile(n)]
        assert kinds == ["message", "question"], channel.arrived
