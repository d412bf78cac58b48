"""Events at scale: expanding invitations for a large audience, and reminder lateness.

1. Expansion: ``--contacts`` people in the audience (one million on PostgreSQL for the
   figure in docs/performance.md); times ``outreach events invite`` (the RSVP rows and one
   start row per person, set-based), and prints this process's peak memory.
2. Lateness: ``--reminders`` conversations waiting with a reminder, due spread over 30 s;
   a worker (APScheduler, all its jobs) runs for 40 s; prints how late each reminder's
   message was written after its due time (p50, p99, max).

    python benchmarks/events.py [--contacts 1000000] [--reminders 1000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

With a PostgreSQL URL it empties that database's public schema first.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook import reset_postgres  # noqa: E402
from outreach.events.library import load_event_text  # noqa: E402
from outreach.services.runtime import Runtime  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.store.database import Database  # noqa: E402
from outreach.store.migrate import upgrade  # noqa: E402
from outreach.store.models import DueWork, Message  # noqa: E402

EVENT = """\
version: 1
event: {id}
title: Big Conversation
topic: mental health support
starts_at: 2030-01-21 18:00
ends_at: 2030-01-21 20:00
venue: {{name: Riverside Centre, access: step-free}}
audience: {{tags: [{tag}]}}
"""

SEED = {
    "postgresql": """
        INSERT INTO contacts (language, timezone, fields, opted_out, created_at, updated_at)
        SELECT CASE WHEN g % 10 = 0 THEN 'cy' ELSE 'en' END,
               'Europe/London', '{{}}', false, now(), now()
        FROM generate_series({first}, {last}) g""",
    "sqlite": """
        WITH RECURSIVE g(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM g WHERE n < {last})
        INSERT INTO contacts (language, timezone, fields, opted_out, created_at, updated_at)
        SELECT CASE WHEN n % 10 = 0 THEN 'cy' ELSE 'en' END,
               'Europe/London', '{{}}', 0, datetime('now'), datetime('now')
        FROM g""",
}
NUMBER = {
    "postgresql": "'+4475' || lpad(id::text, 8, '0')",
    "sqlite": "'+4475' || printf('%08d', id)",
}


def seed(db: Database, first: int, last: int, tag: str) -> None:
    dialect = db.engine.dialect.name
    with db.transaction() as tx:
        before = tx.scalar(text("SELECT coalesce(max(id), 0) FROM contacts"))
        tx.execute(text(SEED[dialect].format(first=first, last=last)))
        tx.execute(
            text(
                "INSERT INTO contact_addresses (contact_id, scheme, address, created_at)"
                f" SELECT id, 'tel', {NUMBER[dialect]}, created_at FROM contacts"
                " WHERE id > :before"
            ),
            {"before": before},
        )
        tx.execute(
            text(
                "INSERT INTO contact_tags (contact_id, tag) SELECT id, :tag FROM contacts"
                " WHERE id > :before"
            ),
            {"tag": tag, "before": before},
        )


def runtime(url: str, events: dict[str, str]) -> Runtime:
    settings = Settings(
        database_url=url, flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None
    )
    rt = Runtime.build(settings)
    for key, tag in events.items():
        rt.events.add(load_event_text(EVENT.format(id=key, tag=tag)))
    return rt


def expansion(url: str, contacts: int) -> None:
    db = Database(url)
    started = time.perf_counter()
    seed(db, 1, contacts, "everyone")
    print(f"seeded          {contacts:,} contacts in {time.perf_counter() - started:.1f} s")
    rt = runtime(url, {"big": "everyone"})
    rt.events.sync()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    invited = rt.events.invite("big")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"expansion       {invited:,} invited in {elapsed:.1f} s "
        f"({invited / elapsed:,.0f}/s); peak RSS {peak:.0f} MB (before: {before:.0f} MB)"
    )
    with rt.db.transaction() as tx:  # leave the big audience out of the lateness run
        tx.execute(text("DELETE FROM due_work"))
    rt.close()
    db.close()


def lateness(url: str, reminders: int) -> None:
    db = Database(url)
    seed(db, 90_000_000, 90_000_000 + reminders - 1, "small")
    rt = runtime(url, {"small": "small"})
    rt.events.invite("small")
    rt.due.run()  # start every invitation: each waits with a reminder
    now = datetime.now(UTC)
    with rt.db.transaction() as tx:
        ids = tx.scalars(select(DueWork.id).where(DueWork.kind == "reminder")).all()
        for i, due_id in enumerate(ids):
            at = now + timedelta(seconds=5 + 30 * i / len(ids))
            tx.execute(update(DueWork).where(DueWork.id == due_id).values(due_at=at))
        sessions = dict(
            tx.execute(
                select(DueWork.session_id, DueWork.due_at).where(DueWork.kind == "reminder")
            ).all()
        )
    worker = rt.worker()
    worker.start()
    time.sleep(40)
    worker.stop()
    with rt.db.transaction() as tx:
        written = tx.execute(
            select(Message.session_id, Message.created_at).where(Message.kind == "reminder")
        ).all()
    late = sorted((at - sessions[sid]).total_seconds() for sid, at in written if sid in sessions)
    print(f"reminders       {len(late)} of {len(ids)} fired within the run")
    if late:
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        print(
            f"lateness        p50 {statistics.median(late):.2f} s, p99 {p99:.2f} s, "
            f"max {late[-1]:.2f} s"
        )
    rt.close()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'events.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    upgrade(Database(url))
    print(f"database        {url.split(':')[0]}")
    expansion(url, args.contacts)
    lateness(url, args.reminders)


if __name__ == "__main__":
    main()
