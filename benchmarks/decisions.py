"""You said, we did at scale: sending a decision to ``--contacts`` contributors, with and
without its follow-up, against the one-off message to the same people as the baseline (the
same sending policy, queued in batches of 500 a transaction), interleaved round by round.

A decision is told 500 people a transaction, under their locks; with a follow-up, each
person's claim, message and follow-up conversation commit together in that transaction (the
conversations started as a batch, as the worker starts an invitation's); this prints what
that costs.

    python benchmarks/decisions.py [--contacts 1000] [--rounds 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

With a PostgreSQL URL it empties that database's public schema first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.events import seed  # noqa: E402
from benchmarks.webhook import reset_postgres  # noqa: E402
from outreach.decisions.schema import DecisionSpec  # noqa: E402
from outreach.services.once import Audience, OneOff  # noqa: E402
from outreach.services.runtime import Runtime  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.store.database import Database  # noqa: E402
from outreach.store.migrate import upgrade  # noqa: E402

TEXTS = {"en": "You said evenings were easier. We now open on Tuesday evenings.", "cy": "Diolch."}


def answers(db: Database) -> None:
    """Everyone answered the survey's last question."""
    with db.transaction() as tx:
        tx.execute(
            text(
                "INSERT INTO answers (contact_id, flow, step, name, kind, raw, value, language, at)"
                " SELECT id, 'post-event-survey', 'change', 'change', 'text', 'x', '\"x\"',"
                " language, created_at FROM contacts"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        if url.startswith("postgresql"):
            reset_postgres(url)
        db = Database(url)
        upgrade(db)
        seed(db, 1, args.contacts, "everyone")
        answers(db)
        settings = Settings(
            database_url=url,
            flows_dir=ROOT / "flows",
            locales_dir=ROOT / "locales",
            _env_file=None,
        )
        rt = Runtime.build(settings)
        once = OneOff(
            rt.db, rt.conversations.sender, rt.engine.translate, settings=settings, clock=rt.clock
        )
        times: dict[str, list[float]] = {"one-off": [], "decision": [], "with follow-up": []}
        for n in range(args.rounds):
            for name in times:
                started = time.perf_counter()
                if name == "one-off":
                    once.send(Audience(tag="everyone"), TEXTS, key=f"round-{n}", actor="bench")
                else:
                    spec = DecisionSpec.model_validate(
                        {
                            "decision": f"{name.replace(' ', '-')}-{n}",
                            "title": "Evenings",
                            "text": TEXTS,
                            "questions": [{"flow": "post-event-survey", "answer": "change"}],
                            "follow_up": name == "with follow-up",
                        }
                    )
                    done = rt.decisions.send(spec, source="bench", actor="bench")
                    assert done.sent == args.contacts, done
                times[name].append(time.perf_counter() - started)
        rt.close()
        db.close()
    base = statistics.median(times["one-off"])
    print(f"{args.contacts:,} contributors, {args.rounds} rounds, {url.split(':')[0]}")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(
            f"{name:15} median {median:6.2f} s ({args.contacts / median:,.0f} people/s), "
            f"{median / base:.1f}x the one-off"
        )


if __name__ == "__main__":
    main()
