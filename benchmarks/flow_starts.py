"""Flow starts after an invitation: the worker's store path against the engine alone.

Each round invites ``--people`` new people (10% Welsh) to an event of their own, then, in
turn, (a) the engine alone starts the invitation flow for each of them, as many times as the
round has people (the baseline: no database), and (b) the worker's due-work runner starts
them through the store, one batch and one transaction at a time, until every first message
is in the outbox. Then their reminders fall due (nobody has answered), and the same again:
the engine alone firing them, then the worker through the store. Rounds interleave the two,
so a loaded machine slows both alike; the median of the rounds' ratios is printed, with
people a second and this process's peak memory. Each round also prints the CPU a person
cost: this process's (the worker's), and the rest of the machine's meanwhile (on PostgreSQL,
mostly its server): on two cores their sum bounds the rate however well they overlap.

``--million`` instead times a whole invitation of that many people end to end on one worker:
from ``outreach events invite`` (the RSVP and start rows) until every first message is
queued, and prints the peak RSS.

    python benchmarks/flow_starts.py [--people 20000] [--rounds 5]
        [--million 1000000] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/db]

With a PostgreSQL URL it empties that database's public schema first.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.events import runtime, seed  # noqa: E402
from benchmarks.webhook import reset_postgres  # noqa: E402
from outreach.flows import state  # noqa: E402
from outreach.services.runtime import Runtime, settle_for_a_long_run  # noqa: E402
from outreach.store import events as stored_events  # noqa: E402
from outreach.store.database import Database  # noqa: E402
from outreach.store.migrate import upgrade  # noqa: E402
from outreach.store.models import DueWork, Message  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_alone(rt: Runtime, event_id: str, people: int, tag: str) -> tuple[float, float]:
    """Seconds the engine takes to start the invitation flow for ``people`` people like those
    invited (every tenth Welsh), with nothing stored; and then to fire their reminders."""
    flow = rt.events.definitions[event_id].spec.invitation
    with rt.db.transaction() as tx:
        event = stored_events.fields(tx.connection(), event_id)
    now = rt.conversations.clock()
    contacts = [
        state.Contact(
            language="cy" if n % 10 == 0 else "en",
            timezone="Europe/London",
            fields={"first_name": None, "last_name": None},
            tags=frozenset({tag}),
        )
        for n in range(people)
    ]
    engine = rt.engine
    started = time.perf_counter()
    outcomes = [
        engine.handle(None, state.Start(flow=flow, at=now, contact=contact, event=event))
        for contact in contacts
    ]
    start_seconds = time.perf_counter() - started
    # Then each one's reminder, as the worker fires it when nobody has answered.
    reminders = [
        (outcome.session, action.seq, contact)
        for outcome, contact in zip(outcomes, contacts, strict=True)
        for action in outcome.actions
        if isinstance(action, state.Schedule) and action.kind == "reminder"
    ]
    started = time.perf_counter()
    for session, seq, contact in reminders:
        engine.handle(session, state.ReminderDue(seq=seq, at=now, contact=contact, event=event))
    return start_seconds, time.perf_counter() - started


def queued(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.scalar(select(func.count()).select_from(Message)) or 0)


def fall_due(rt: Runtime, kind: str) -> None:
    """Bring every ``kind`` timer forward to now, as if the days it waits had passed."""
    with rt.db.transaction() as tx:
        tx.execute(
            update(DueWork)
            .where(DueWork.kind == kind)
            .values(due_at=rt.conversations.clock() - timedelta(seconds=1))
        )


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy since boot (Linux's /proc/stat;
    0 elsewhere, when only this process's own figure is printed)."""
    try:
        with open("/proc/stat") as fh:
            ticks = [int(t) for t in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = ticks[3] + ticks[4]  # idle, and waiting for I/O
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def through_store(rt: Runtime, kind: str, people: int) -> tuple[float, int, float, float]:
    """The worker doing what is due (``people`` rows of ``kind``): seconds, messages queued,
    and the CPU seconds spent meanwhile by this process and by the rest of the machine (the
    database server, on PostgreSQL)."""
    before = queued(rt)
    mine, machine = os.times(), machine_busy()
    started = time.perf_counter()
    done = rt.due.run()
    seconds = time.perf_counter() - started
    after = os.times()
    worker = after.user - mine.user + after.system - mine.system
    rest = max(0.0, machine_busy() - machine - worker) if machine else 0.0
    assert done[kind] == people, done
    return seconds, queued(rt) - before, worker, rest


def rounds(url: str, people: int, count: int) -> None:
    db = Database(url)
    tags = {f"round{r}": f"round{r}" for r in range(count)}
    for r in range(count):
        first = 1 + r * people
        seed(db, first, first + people - 1, f"round{r}")
    rt = runtime(url, tags)
    rt.events.sync()
    settle_for_a_long_run()  # as the worker process does
    starts, reminders = Rates("flow starts"), Rates("reminders")
    for r in range(count):
        event_id = f"round{r}"
        invited = rt.events.invite(event_id)
        start_seconds, remind_seconds = engine_alone(rt, event_id, invited, event_id)
        starts.add(r, invited, start_seconds, *through_store(rt, "start", invited))
        fall_due(rt, "reminder")
        reminders.add(r, invited, remind_seconds, *through_store(rt, "reminder", invited))
    starts.report()
    reminders.report()
    print(f"peak RSS        {peak_mb():.0f} MB")
    rt.close()
    db.close()


class Rates:
    """One kind of due work's rounds: through the store against the engine alone."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.ratios: list[float] = []
        self.store: list[float] = []
        self.engine: list[float] = []
        self.worker_cpu: list[float] = []  # microseconds a person
        self.rest_cpu: list[float] = []

    def add(
        self,
        r: int,
        people: int,
        engine: float,
        store: float,
        messages: int,
        worker_cpu: float,
        rest_cpu: float,
    ) -> None:
        self.store.append(people / store)
        self.engine.append(people / engine)
        self.ratios.append(self.store[-1] / self.engine[-1])
        self.worker_cpu.append(worker_cpu / people * 1e6)
        self.rest_cpu.append(rest_cpu / people * 1e6)
        print(
            f"round {r}         {self.what}, {people:,} people: store {self.store[-1]:,.0f}/s "
            f"({messages:,} messages queued), engine alone {self.engine[-1]:,.0f}/s, "
            f"ratio {self.ratios[-1]:.3f}; CPU a person: worker {self.worker_cpu[-1]:.0f} µs, "
            f"rest of the machine {self.rest_cpu[-1]:.0f} µs"
        )

    def report(self) -> None:
        print(
            f"median          {self.what}: store {statistics.median(self.store):,.0f} people/s, "
            f"engine alone {statistics.median(self.engine):,.0f}/s, "
            f"ratio {statistics.median(self.ratios):.3f}; CPU a person: worker "
            f"{statistics.median(self.worker_cpu):.0f} µs, rest of the machine "
            f"{statistics.median(self.rest_cpu):.0f} µs"
        )


def million(url: str, people: int) -> None:
    db = Database(url)
    started = time.perf_counter()
    seed(db, 50_000_001, 50_000_000 + people, "everyone")
    print(f"seeded          {people:,} contacts in {time.perf_counter() - started:.1f} s")
    rt = runtime(url, {"big": "everyone"})
    rt.events.sync()
    settle_for_a_long_run()  # as the worker process does
    before = peak_mb()
    started = time.perf_counter()
    invited = rt.events.invite("big")
    expanded = time.perf_counter() - started
    done = rt.due.run()
    elapsed = time.perf_counter() - started
    with rt.db.transaction() as tx:
        first = tx.scalar(
            text(
                "SELECT count(DISTINCT m.contact_id) FROM messages m JOIN outbox o"
                " ON o.message_id = m.id WHERE m.step = 'invitation'"
            )
        )
        left = tx.scalar(select(func.count()).select_from(DueWork).where(DueWork.kind == "start"))
    print(
        f"invitation      {invited:,} invited, {done['start']:,} started, {first:,} first "
        f"messages in the outbox, {left} starts left; {elapsed:.1f} s from invite to queued "
        f"(expansion {expanded:.1f} s), {invited / elapsed:,.0f} people/s"
    )
    print(f"peak RSS        {peak_mb():.0f} MB (before inviting: {before:.0f} MB)")
    rt.close()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--million", type=int, default=0)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'starts.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    upgrade(Database(url))
    print(f"database        {url.split(':')[0]}")
    if args.million:
        million(url, args.million)
    else:
        rounds(url, args.people, args.rounds)


if __name__ == "__main__":
    main()
