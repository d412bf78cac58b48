"""Contact import speed and memory: N rows of CSV into a new SQLite store.

Each size runs in a fresh process, which prints its time and its peak resident memory (and the
largest of its checking processes'), so flat memory shows as nearly the same peak for 10,000
and 100,000 rows. Run:

    python benchmarks/import_contacts.py [--rows 10000 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberType

from outreach.services.contact_import import import_contacts
from outreach.store.database import Database
from outreach.store.migrate import upgrade

FIRST = ["Amina", "Siân", "Tomasz", "Zoë", "Priya", "Oluwaseun", "Grace", "Marek", "Aisha", "Dylan"]
LAST = ["Evans", "Nowak", "Khan", "O'Brien", "Patel", "Adeyemi", "Jones", "Popescu", "Rahman"]
LANGS = ["en", "cy", "pl", "ro", "ur", "bn", "ar", "pa"]


def make_csv(path: Path, rows: int) -> None:
    base = phonenumbers.example_number_for_type("GB", PhoneNumberType.MOBILE)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Mobile", "First name", "Surname", "Language", "Tags", "Postcode", "Ward"])
        for i in range(rows):
            national = str(base.national_number + i)
            out.writerow(
                [
                    f"0{national[:4]} {national[4:]}",
                    FIRST[i % 10],
                    LAST[i % 9],
                    LANGS[i % 8],
                    "carer" if i % 7 == 0 else "",
                    f"WR{i % 9 + 1} 3AB",
                    f"Ward {i % 30}",
                ]
            )


def run(rows: int, url: str | None, workdir: Path) -> None:
    source = workdir / f"contacts-{rows}.csv"
    make_csv(source, rows)
    db = Database(url or f"sqlite:///{workdir / f'import-{rows}.db'}")
    upgrade(db)
    started = time.perf_counter()
    report = import_contacts(
        db, source, consent_source="benchmark", mapping={"Ward": "fields.ward"}
    )
    elapsed = time.perf_counter() - started
    db.close()
    assert report.created == rows, report.summary()
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"import {rows:>7,} rows: {elapsed:6.2f} s = {rows / elapsed:8,.0f} rows/s; "
        f"peak RSS {main_rss:4.0f} MB (largest checking process {worker_rss:4.0f} MB)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url", help="default: a new SQLite file per size")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            run(args.rows[0], args.database_url, Path(tmp))
        return
    for rows in args.rows:  # a fresh process per size, so each peak is its own
        extra = ["--database-url", args.database_url] if args.database_url else []
        subprocess.run([sys.executable, __file__, "--one", "--rows", str(rows), *extra], check=True)


if __name__ == "__main__":
    main()
