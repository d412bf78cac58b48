"""Results pages at scale: 100,000 contacts and 1,000,000 answers on PostgreSQL.

Seeds the store with COPY (seconds, not minutes): ``--contacts`` people in declared groups,
all invited to one event, three quarters of whom answered its survey (rating, a choice, a few
words) and who answered other flows' questions too, until ``--answers`` answers exist. Starts
one web process (``outreach web``), logs in, and times each results page against a bare
endpoint (``/healthz``) in the same run, one request at a time. Prints p50 and p95 per page and
the ratio to the baseline, then the time to count the event's numbers afresh (what a page
costs when its kept counts have expired, and what a report costs). Run:

    python benchmarks/results.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB
        [--contacts 100000] [--answers 1000000] [--requests 60]

The database's public schema is dropped and made again: never point it at one you keep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook import free_port, reset_postgres  # noqa: E402
from outreach.services.results import Results  # noqa: E402
from outreach.store.database import Database  # noqa: E402

EVENT = "bench-event"
PASSWORD = "benchmark results password 2026"
GROUPS = [  # ethnicity, age band, language, postcode district, share of people
    ("White British", "65+", "en", "WR1", 0.55),
    ("Pakistani", "25-44", "ur", "WR2", 0.25),
    ("Polish", "45-64", "pl", "WR3", 0.15),
    ("Black Caribbean", "18-24", "en", "WR4", 0.05),
]
STATUSES = ["yes", "yes", "maybe", "no", "waitlist", "invited", "yes", "no"]
OPTIONS = ["place", "support", "people", "payment", "other"]


def seed(url: str, contacts: int, answers: int) -> float:
    """Write the data with COPY; returns the seconds it took."""
    started = time.perf_counter()
    at = datetime(2026, 11, 1, 10, tzinfo=UTC)
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "INSERT INTO events (id, title, starts_at, ends_at, timezone, details, config,"
            " updated_at) VALUES (%s, %s, %s, %s, %s, %s, '{}', %s)",
            (
                EVENT,
                "Benchmark event",
                at + timedelta(days=30),
                at + timedelta(days=30, hours=2),
                "Europe/London",
                json.dumps({"venue": {"en": "Hall"}}),
                at,
            ),
        )
        bounds, total = [], 0.0
        for group in GROUPS:
            total += group[4]
            bounds.append((total * contacts, group))

        def group_of(i: int) -> tuple[str, str, str, str, float]:
            return next(g for limit, g in bounds if i < limit)

        with cursor.copy(
            "COPY contacts (id, first_name, language, timezone, fields, age_band, ethnicity,"
            " postcode_district, opted_out, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(1, contacts + 1):
                ethnicity, age, language, district, _ = group_of(i - 1)
                copy.write_row(
                    (
                        i,
                        f"Person{i}",
                        language,
                        "Europe/London",
                        "{}",
                        age,
                        ethnicity,
                        district,
                        False,
                        at,
                        at,
                    )
                )
        with cursor.copy(
            "COPY contact_addresses (contact_id, scheme, address, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, contacts + 1):
                copy.write_row((i, "tel", f"+4474{10_000_000 + i:08d}", at))
        with cursor.copy("COPY contact_tags (contact_id, tag) FROM STDIN") as copy:
            for i in range(1, contacts + 1):
                if i % 4 == 0:
                    copy.write_row((i, f"attended:{EVENT}"))
                if i % 7 == 0:
                    copy.write_row((i, "may-quote"))
        with cursor.copy(
            "COPY rsvps (event_id, contact_id, status, invited_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(1, contacts + 1):
                copy.write_row((EVENT, i, STATUSES[i % len(STATUSES)], at, at))
        written = 0
        columns = "contact_id, event_id, flow, step, name, kind, raw, value, language, at"
        with cursor.copy(f"COPY answers ({columns}) FROM STDIN") as copy:
            # The event's survey: three answers from three people in four.
            for i in range(1, contacts + 1):
                if i % 4 == 0 or written + 3 > answers:
                    continue
                language = group_of(i - 1)[2]
                rating, option = i % 5 + 1, OPTIONS[i % 5]
                words = f"more buses in the evening, please {i}"
                for step, kind, said, value in (
                    ("rating", "rating", str(rating), rating),
                    ("helped", "choice", option, option),
                    ("change", "text", words, words),
                ):
                    copy.write_row(
                        (
                            i,
                            EVENT,
                            "post-event-survey",
                            step,
                            step,
                            kind,
                            said,
                            json.dumps(value),
                            language,
                            at,
                        )
                    )
                written += 3
            # Everything else: other flows' answers, with no event.
            i = 0
            while written < answers:
                i += 1
                person = i % contacts + 1
                copy.write_row(
                    (
                        person,
                        None,
                        "join",
                        "language",
                        "language",
                        "choice",
                        "en",
                        json.dumps("en"),
                        "en",
                        at,
                    )
                )
                written += 1
        for table in ("contacts", "contact_addresses"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))  # as autovacuum would after such a load
    vacuum.dispose()
    return time.perf_counter() - started


def measure(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(3):  # warm up: templates compiled, caches filled
        assert client.get(path).status_code == 200, path
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, path
    return took


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("this benchmark is for PostgreSQL: pass --database-url postgresql+...")

    reset_postgres(args.database_url)
    workdir = Path(tempfile.mkdtemp())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": args.database_url,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "OUTREACH_ADMIN_PASSWORD": PASSWORD,
        "OUTREACH_SECRET_KEY": "b" * 32,
    }
    outreach = [sys.executable, "-m", "outreach.cli"]
    subprocess.run(
        [*outreach, "db", "upgrade"], env=env, check=True, cwd=workdir, stdout=subprocess.DEVNULL
    )
    seconds = seed(args.database_url, args.contacts, args.answers)
    print(f"seeded {args.contacts:,} contacts and {args.answers:,} answers in {seconds:.1f} s")
    server = subprocess.Popen(
        [*outreach, "web", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise SystemExit("the web process did not start")
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.post("/login", data={"password": PASSWORD}).status_code == 303
            baseline = measure(client, "/healthz", args.requests)
            base_p50, base_p95 = percentile(baseline, 50), percentile(baseline, 95)
            print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
            print(f"{'/healthz (baseline)':<34} {base_p50 * 1000:8.1f} {base_p95 * 1000:8.1f}")
            for path in (
                "/results",
                f"/results/{EVENT}",
                f"/results/{EVENT}/answers",
                f"/results/{EVENT}/answers?q=buses+in+the+evening%2C+please+7",
                f"/results/{EVENT}/reach",
                "/people?q=Person4242",
                "/people?q=ethnicity%3DPolish",
                "/people/4242",
            ):
                took = measure(client, path, args.requests)
                p50, p95 = percentile(took, 50), percentile(took, 95)
                print(
                    f"{path[:34]:<34} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {p95 / base_p95:14.1f}x"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    counting = count_afresh(args.database_url, args.requests)
    print(
        f"{'counting afresh (no page cache)':<34} {percentile(counting, 50) * 1000:8.1f} "
        f"{percentile(counting, 95) * 1000:8.1f}"
    )


def count_afresh(url: str, requests: int) -> list[float]:
    """The event's numbers counted from the store each time, as a page finds them when
    its kept counts are older than ``PAGE_FRESHNESS`` (and as a report always does)."""
    db = Database(url)
    results = Results(db)
    try:
        results.event(EVENT)
        took = []
        for _ in range(requests):
            started = time.perf_counter()
            results.event(EVENT)
            took.append(time.perf_counter() - started)
        return took
    finally:
        db.close()


if __name__ == "__main__":
    main()
