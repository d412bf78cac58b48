"""Events end to end on a real store, with a controlled clock: invitations, RSVPs against the
capacity, the waiting list, reminders and the follow-up at their times, a moved event."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.errors import FlowLoadError
from outreach.events.library import EventDefinition, check_events, load_event_text
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.scheduling.due import DueWorkRunner
from outreach.scheduling.periodic import PeriodicRuns
from outreach.services.events import Events
from outreach.services.privacy import erase_contact
from outreach.services.runtime import Runtime, due_work
from outreach.settings import Settings
from outreach.store import consent
from outreach.store.database import Database
from outreach.store.models import (
    Contact,
    ContactTag,
    DueWork,
    Event,
    Message,
    OutboxItem,
    Rsvp,
)
from tests.conftest import ROOT, mobile
from tests.services.conftest import Phone, add_contact, count

EVENT = """\
version: 1
event: bc-mental-health
title: "Big Conversation: mental health"
topic: mental health support
starts_at: {starts}
ends_at: {ends}
timezone: Europe/London
venue:
  name: Riverside Centre
  address: 12 High Street, Worcester
  access: step-free entrance and a hearing loop
capacity: 2
paid: {{travel: true, time: true}}
audience:
  tags: [mental-health]
  exclude_tags: [staff]
reminders:
  - {{at: -7d, flow: event-reminder}}
  - {{at: -1d, flow: event-reminder}}
  - {{at: -2h, flow: event-reminder-soon, to: "yes"}}
follow_up: {{at: +1d, flow: post-event-survey, to: "yes"}}
"""
STARTS = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)  # GMT: London time is UTC in March


def definition(starts: str = "2026-03-20 18:00") -> EventDefinition:
    ends = datetime.fromisoformat(starts) + timedelta(hours=2)
    return load_event_text(EVENT.format(starts=starts, ends=ends), path="bc.yaml")


class Town:
    """The event, its service and worker tick, and the people of the audience."""

    def __init__(self, db: Database, engine: Engine, settings: Settings, clock: ManualClock):
        self.db = db
        self.clock = clock
        self.service = Conversations(db, engine, settings=settings, clock=clock)
        self.events = Events(
            db, self.service, {"bc-mental-health": definition()}, settings=settings, clock=clock
        )
        self.runner = due_work(db, self.service, self.events, clock=clock)
        self.events.sync()
        self.phones: dict[int, Phone] = {}

    def phone(self, n: int) -> Phone:
        """Person ``n``'s phone (one each, so their messages' ids count up)."""
        return self.phones.setdefault(n, Phone(self.service, n))

    def person(self, n: int, name: str, *tags: str, language: str = "en") -> int:
        cid = add_contact(self.db, n, at=self.clock.now, first_name=name, language=language)
        with self.db.transaction() as tx:
            tx.add_all(ContactTag(contact_id=cid, tag=tag) for tag in tags)
        return cid

    def full_with_one_waiting(self) -> tuple[int, int, int]:
        """Amina and Bronwen take the event's two places; Carl, saying yes too, waits."""
        amina = self.person(1, "Amina", "mental-health")
        bronwen = self.person(2, "Bronwen", "mental-health")
        carl = self.person(3, "Carl", "mental-health")
        self.events.invite("bc-mental-health")
        self.at(self.clock.now)
        for n in (1, 2, 3):
            self.phone(n).text("yes")
        assert self.rsvp(carl) == "waitlist"
        return amina, bronwen, carl

    def at(self, when: datetime) -> dict[str, int]:
        """Move the clock to ``when`` and run the worker's due-work tick until idle."""
        self.clock.now = when
        return dict(self.runner.run())

    def flows_sent(self, cid: int) -> list[str | None]:
        with self.db.transaction() as tx:
            return list(
                tx.scalars(
                    select(Message.flow)
                    .where(Message.contact_id == cid, Message.direction == "out")
                    .order_by(Message.id)
                )
            )

    def rsvp(self, cid: int) -> str | None:
        with self.db.transaction() as tx:
            return tx.scalar(select(Rsvp.status).where(Rsvp.contact_id == cid))


@pytest.fixture
def town(db: Database, engine: Engine, settings: Settings, t0: datetime) -> Town:
    return Town(db, engine, settings, ManualClock(t0))


def test_an_event_runs_end_to_end_with_capacity_and_a_waiting_list(town: Town) -> None:
    amina = town.person(1, "Amina", "mental-health")
    bronwen = town.person(2, "Bronwen", "mental-health")
    carl = town.person(3, "Carl", "mental-health")
    dev = town.person(4, "Dev", "mental-health")
    staff = town.person(5, "Sam", "mental-health", "staff")
    other = town.person(6, "Olu", "diabetes")

    assert town.events.invite("bc-mental-health") == 4
    assert town.events.invite("bc-mental-health") == 0  # nobody is invited twice
    assert town.at(town.clock.now) == {"start": 4}
    for cid in (amina, bronwen, carl, dev):
        # the invitation, then its question
        assert town.flows_sent(cid) == ["big-conversation-invite"] * 2
    assert town.flows_sent(staff) == town.flows_sent(other) == []

    for n in (1, 2, 3):
        town.phone(n).text("yes")
        town.phone(n).text("none")  # nothing needed to take part
    town.phone(4).text("no")
    assert [town.rsvp(c) for c in (amina, bronwen, carl, dev)] == ["yes", "yes", "waitlist", "no"]
    with town.db.transaction() as tx:
        told = tx.scalars(
            select(Message.body).where(Message.contact_id == carl, Message.direction == "out")
        ).all()
    # The invitation sees the event is full: Carl hears he is waiting, not "see you there".
    assert "waiting list" in (told[-1] or "")
    assert not any("Great!" in (body or "") for body in told)

    # A week before: reminders go to the people coming, not the waiting list or the noes.
    week_before = STARTS - timedelta(days=7)
    assert town.at(week_before - timedelta(minutes=1)) == {}
    assert town.at(week_before) == {"event": 1, "start": 2}
    assert town.flows_sent(amina)[-1] == "event-reminder"
    assert town.flows_sent(bronwen)[-1] == "event-reminder"
    assert "event-reminder" not in town.flows_sent(carl) + town.flows_sent(dev)

    # Bronwen can no longer come: her place is offered to Carl, who takes it.
    town.phone(2).text("no")
    assert town.rsvp(bronwen) == "no"
    assert town.rsvp(carl) == "offered"
    assert town.at(town.clock.now) == {"start": 1}
    assert town.flows_sent(carl)[-1] == "event-place-offer"
    town.phone(3).text("yes")
    assert town.rsvp(carl) == "yes"
    town.phone(1).text("yes")  # Amina answers her reminder

    said_no = town.flows_sent(bronwen)
    assert town.at(STARTS - timedelta(days=1)) == {"event": 1, "start": 2}
    assert town.flows_sent(carl)[-1] == "event-reminder"
    assert town.flows_sent(bronwen) == said_no  # nothing more after her "no"
    town.phone(1).text("yes")  # still coming
    town.phone(3).text("yes")

    assert town.at(STARTS - timedelta(hours=2)) == {"event": 1, "start": 2}
    assert town.flows_sent(amina)[-1] == town.flows_sent(carl)[-1] == "event-reminder-soon"

    assert town.at(STARTS + timedelta(days=1)) == {"event": 1, "start": 2}
    assert town.flows_sent(amina)[-1] == town.flows_sent(carl)[-1] == "post-event-survey"
    assert "post-event-survey" not in town.flows_sent(bronwen) + town.flows_sent(dev)

    summary = town.events.summary("bc-mental-health")
    assert summary.rsvps == {"yes": 2, "no": 2}
    assert summary.upcoming == []
    later = town.at(STARTS + timedelta(days=30))  # the survey's own reminder and timeout
    assert "event" not in later and "start" not in later  # nothing is sent twice


def test_someone_who_opts_out_gets_no_reminders_and_frees_their_place(town: Town) -> None:
    amina, bronwen, carl = town.full_with_one_waiting()
    town.phone(1).text("STOP")
    assert town.rsvp(amina) == "no"
    assert town.rsvp(carl) == "offered"
    town.at(STARTS - timedelta(days=7))
    assert "event-reminder" not in town.flows_sent(amina)
    assert town.flows_sent(bronwen)[-1] == "event-reminder"


def test_a_reminder_due_at_night_goes_out_at_nine(town: Town, t0: datetime) -> None:
    town.events.definitions["bc-mental-health"] = definition("2026-03-20 07:30")
    town.events.sync()
    cid = town.person(1, "Amina", "mental-health")
    town.events.invite("bc-mental-health")
    town.at(t0)
    town.phone(1).text("yes")
    town.at(datetime(2026, 3, 13, 7, 30, tzinfo=UTC))  # a week before, at 07:30
    with town.db.transaction() as tx:
        not_before = tx.scalar(
            select(OutboxItem.not_before).join(Message).where(Message.flow == "event-reminder")
        )
    assert town.flows_sent(cid)[-1] == "event-reminder"
    assert not_before == datetime(2026, 3, 13, 9, 0, tzinfo=UTC)


def test_moving_the_event_tells_everyone_coming_and_moves_the_reminders(
    town: Town, t0: datetime
) -> None:
    amina = town.person(1, "Amina", "mental-health")
    bronwen = town.person(2, "Bronwen", "mental-health")
    town.events.invite("bc-mental-health")
    town.at(t0)
    town.phone(1).text("yes")
    town.phone(1).text("none")
    town.phone(2).text("no")

    town.clock.now = datetime(2026, 3, 5, 21, 30, tzinfo=UTC)  # in the evening: urgent anyway
    town.events.definitions["bc-mental-health"] = definition("2026-03-27 18:00")
    assert town.events.sync() == ["bc-mental-health"]
    assert town.events.sync() == []  # told once
    assert town.at(town.clock.now) == {"start": 1}
    assert town.flows_sent(amina)[-1] == "event-changed"
    assert "event-changed" not in town.flows_sent(bronwen)
    with town.db.transaction() as tx:
        change = tx.execute(
            select(Message.body, OutboxItem.not_before)
            .join(OutboxItem)
            .where(Message.flow == "event-changed")
        ).one()
    assert "Friday, 27 March" in (change.body or "")
    assert change.not_before == town.clock.now  # urgent: not held for quiet hours

    # The week-before reminder follows the event: not on the 13th, on the 20th.
    assert town.at(STARTS - timedelta(days=7)) == {}
    assert town.at(STARTS) == {"event": 1, "start": 1}
    assert town.flows_sent(amina)[-1] == "event-reminder"


def test_dry_run_counts_people_languages_segments_and_cost(town: Town, settings: Settings) -> None:
    town.person(1, "Amina", "mental-health")
    town.person(2, "Bronwen", "mental-health", language="cy")
    town.person(3, "Carl", "mental-health")
    town.person(4, "Sam", "mental-health", "staff")
    town.person(5, "Olu", "diabetes")
    gone = town.person(6, "Pat", "mental-health")
    with town.db.transaction() as tx:
        contact = tx.get(Contact, gone)
        assert contact is not None
        consent.record(
            tx.connection(),
            gone,
            "opted_out",
            source="keyword",
            words="STOP",
            at=town.clock(),
            opted_out=contact.opted_out,
        )

    plan = town.events.plan("bc-mental-health")
    assert plan.people == 3
    assert plan.by_language == {"en": 2, "cy": 1}
    # The English invitation is two GSM-7 segments; the Welsh one is longer in UCS-2.
    assert plan.segments > 3 * 2 - 1
    assert plan.cost == round(plan.segments * settings.sms_price_per_segment, 2)
    assert count(town.db, Rsvp) == 0  # a dry run sends and records nothing
    assert count(town.db, DueWork, DueWork.kind == "start") == 0


def test_each_send_is_expanded_once_however_many_workers_claim(town: Town) -> None:
    for n in range(1, 6):
        town.person(n, f"P{n}", "mental-health")
    town.events.invite("bc-mental-health")
    second = due_work(town.db, town.service, town.events, clock=town.clock, name="other")
    first_claim = town.runner.claim(3)
    second_claim = second.claim(10)
    assert len(first_claim) == 3 and len(second_claim) == 2
    assert not {i for i, _ in first_claim} & {i for i, _ in second_claim}

    # A worker dies holding its claim: after the lease, the sweep hands the rows back.
    town.clock.advance(timedelta(minutes=3))
    assert second.sweep() == 5
    assert len(second.claim(10)) == 5


def test_an_expired_start_is_dropped_not_sent(town: Town, t0: datetime) -> None:
    cid = town.person(1, "Amina", "mental-health")
    town.events.invite("bc-mental-health")
    # The worker was down through the reminders' times: each is dropped, not sent late.
    assert town.at(STARTS + timedelta(minutes=1)) == {"start": 1, "event": 3}
    assert town.flows_sent(cid) == []
    assert count(town.db, DueWork, DueWork.kind == "start") == 0


def test_periodic_jobs_run_once_per_period_across_workers(db: Database, t0: datetime) -> None:
    ran: list[str] = []
    one = PeriodicRuns(db, clock=lambda: t0, name="one")
    two = PeriodicRuns(db, clock=lambda: t0, name="two")
    assert one.run_once("retention", "2026-03-02T03:30", lambda: ran.append("one"))
    assert not two.run_once("retention", "2026-03-02T03:30", lambda: ran.append("two"))
    assert two.run_once("retention", "2026-03-03T03:30", lambda: ran.append("two"))
    assert ran == ["one", "two"]


def flows(shipped: dict[str, FlowDefinition], *drop: str) -> dict[str, FlowDefinition]:
    return {k: v for k, v in shipped.items() if k not in drop}


def problems_of(text: str, shipped: dict[str, FlowDefinition]) -> list[str]:
    try:
        event = load_event_text(text, path="ev.yaml")
    except FlowLoadError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in check_events([event], shipped)]


def test_event_file_problems_name_line_and_fix(shipped_flows: dict[str, Any]) -> None:
    text = EVENT.format(starts="2026-03-20 18:00", ends="2026-03-20 20:00")
    assert problems_of(text, shipped_flows) == []
    typo = text.replace("flow: event-reminder}", "flow: event-remnder}", 1)
    assert problems_of(typo, shipped_flows) == [
        "ev.yaml:18:21: there is no flow 'event-remnder' (did you mean 'event-reminder'?) "
        "[unknown-flow]"
    ]
    wrong_way = text.replace("at: -7d", "at: 7d")
    assert any(
        "reminders come before the start" in p for p in problems_of(wrong_way, shipped_flows)
    )
    zone = text.replace("Europe/London", "Europe/Lundon")
    assert problems_of(zone, shipped_flows) == [
        "ev.yaml:7:11: timezone: 'Europe/Lundon' is not a time zone: write one like "
        "Europe/London [invalid-value]"
    ]
    unknown = text.replace("capacity: 2", "capacty: 2")
    assert problems_of(unknown, shipped_flows) == [
        "ev.yaml:12:1: unknown field 'capacty' (did you mean 'capacity'?) [unknown-field]"
    ]


def test_a_stopping_worker_finishes_the_batch_under_way_and_hands_back_the_rest(
    town: Town,
) -> None:
    for n in range(1, 6):
        town.person(n, f"P{n}", "mental-health")
    town.events.invite("bc-mental-health")
    runner = DueWorkRunner(town.db, clock=town.clock)

    def start_then_sigterm(due_ids: list[int]) -> object:
        done = town.events.start_batch(due_ids)
        runner.stop()  # as the worker's SIGTERM handler does
        return done

    runner.register_batch("start", start_then_sigterm, size=2)
    assert runner.run() == {"start": 2}
    with town.db.transaction() as tx:
        left = tx.scalars(select(DueWork.claimed_by).where(DueWork.kind == "start")).all()
    assert left == [None] * 3  # handed back at once, not left to a lease running out
    other = due_work(town.db, town.service, town.events, clock=town.clock, name="next")
    assert other.run() == {"start": 3}
    with town.db.transaction() as tx:  # everyone invited once: the invitation and its question
        queued = Counter(tx.scalars(select(OutboxItem.contact_id)))
    assert sorted(queued.values()) == [2] * 5


def test_the_worker_picks_up_an_edited_event_file_and_keeps_the_last_good_one(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    event_file = flows / "events/2027-01-mental-health.yaml"
    clock = ManualClock(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    rt = Runtime.build(settings.model_copy(update={"flows_dir": flows}), clock=clock, db=db)
    rt.events.sync()
    cid = add_contact(db, 1, at=clock.now, first_name="Amina")
    with db.transaction() as tx:
        tx.add(ContactTag(contact_id=cid, tag="carers"))
    rt.events.invite("mental-health-2027-01")
    rt.due.run()
    phone = Phone(rt.conversations, 1)
    phone.text("yes")
    phone.text("none")

    text = event_file.read_text(encoding="utf-8")
    moved = text.replace("2027-01-21", "2027-01-28")
    event_file.write_text(moved, encoding="utf-8")
    rt.events.reload()
    assert rt.events.sync() == ["mental-health-2027-01"]
    assert rt.due.run() == {"start": 1}
    with db.transaction() as tx:
        flows_sent = tx.scalars(select(Message.flow).where(Message.contact_id == cid)).all()
    assert flows_sent[-1] == "event-changed"

    for broken in (
        moved.replace("capacity: 60", "capacity: lots"),
        moved.replace("capacity: 60", "capacity: " + "9" * 5000),  # beyond Python's int limit
        moved + "extra: " + "[" * 10_000 + "]" * 10_000 + "\n",  # deeper than any parser
    ):
        event_file.write_text(broken, encoding="utf-8")
        rt.events.reload()  # the broken file is logged, and the last good event stays
        assert rt.events.summary("mental-health-2027-01").starts_at == datetime(
            2027, 1, 28, 18, 0, tzinfo=UTC
        )


def test_erasing_someone_with_a_place_offers_it_to_the_next_person_waiting(town: Town) -> None:
    _, _, carl = town.full_with_one_waiting()
    erase_contact(town.db, mobile(1), clock=town.clock)
    assert town.rsvp(carl) == "offered"
    assert town.at(town.clock.now) == {"start": 1}
    assert town.flows_sent(carl)[-1] == "event-place-offer"


def test_a_reminder_quiet_hours_would_hold_too_long_is_a_warning(
    shipped_flows: dict[str, Any],
) -> None:
    morning = EVENT.format(starts="2026-03-20 08:00", ends="2026-03-20 10:00")
    assert problems_of(morning, shipped_flows) == [
        "ev.yaml:20:10: warning: this is due at 06:00 local time, outside quiet hours "
        "(09:00-20:00); it would wait until 09:00, too late, and be dropped (move it, give "
        "the event earlier quiet_hours, or make its flow's step urgent) [quiet-hours]"
    ]
    early = morning.replace("venue:", 'quiet_hours: {start: "06:00", end: "20:00"}\nvenue:')
    assert problems_of(early, shipped_flows) == []


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_workers_starting_together_mirror_a_new_event_once_and_none_fails(
    db: Database, engine: Engine, settings: Settings, t0: datetime
) -> None:
    """Three workers start at the same moment after a deploy, each mirroring the event files
    into an empty store: none fails on the others' rows, and each send is scheduled once."""
    clock = ManualClock(t0)
    workers = [
        Events(
            db,
            Conversations(db, engine, settings=settings, clock=clock),
            {"bc-mental-health": definition()},
            settings=settings,
            clock=clock,
        )
        for _ in range(3)
    ]
    start = threading.Barrier(len(workers))

    def sync(events: Events) -> list[str]:
        start.wait()
        return events.sync()

    with ThreadPoolExecutor(len(workers)) as pool:
        assert [f.result() for f in [pool.submit(sync, w) for w in workers]] == [[], [], []]
    with db.transaction() as tx:
        sends = Counter(payload["key"] for payload in tx.scalars(select(DueWork.payload)))
    assert count(db, Event) == 1
    assert sends and max(sends.values()) == 1
