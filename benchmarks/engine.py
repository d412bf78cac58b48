"""Replies per second through the engine on the invitation flow (one core, no I/O).

Sessions are first started (timed separately, as starts per second); then each reply is timed
on its own. Three workloads:

- english: an invalid reply (re-asked with a hint), "yes" (RSVP, next question) and an
  access need (confirmation with the event's date and venue, end): the figure kept since the
  first version, for comparison;
- twelve languages: people in each shipped language answering in their own words ("ie",
  "tak", "no" in Polish, "١", "بند" aside: answers only), then their access need;
- never seen: replies that no cache has met ("yes, see you there, <a new word>"), so every
  one is folded, scanned and checked for typos afresh.

Contacts have 1,000 different names. Times are CPU time of this process, so other work on a
shared machine does not count against it; the target is printed beside each figure. Run:

    python benchmarks/engine.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import cycle
from pathlib import Path

from outreach.flows.engine import Engine
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact, Reply, Session, Start
from outreach.services.flows import build_engine
from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TARGET = 20_000  # replies/s on one core
ACCESS = "I use a wheelchair"
ENGLISH = [("en", "purple"), ("en", "yes")]
ANSWERS = [
    ("en", "yeah go on then"),
    ("cy", "ie"),
    ("pl", "no"),
    ("pl", "tak, przyjdę"),
    ("ro", "da, vin"),
    ("ur", "جی ہاں"),
    ("bn", "হ্যাঁ, আসব"),
    ("ar", "١"),
    ("pa", "ਹਾਂ ਜੀ"),
    ("pt", "sim, vou"),
    ("es", "sí, iré"),
    ("it", "sì, vengo"),
    ("gu", "હા, હું આવીશ"),
]
clock = time.process_time


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def run(
    engine: Engine, replies: Callable[[int], list[tuple[str, str]]], seconds: float
) -> tuple[list[float], int, float]:
    """Latencies of every timed reply, and the flow starts and the time they took."""
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    event = demo_event(now)
    start_time = 0.0
    starts = 0
    latencies: list[float] = []
    deadline = clock() + seconds
    warm = 300
    n = 0
    while clock() < deadline or warm > 0:
        n += 1
        script = replies(n)
        contact = Contact(language=script[0][0], fields={"first_name": f"Person{n % 1000}"})
        t = clock()
        outcome = engine.handle(
            None, Start(flow="big-conversation-invite", at=now, contact=contact, event=event)
        )
        start_time += clock() - t
        session: Session | None = outcome.session
        for _, text in [*script, (contact.language, ACCESS)]:
            reply = Reply(text=text, at=now, contact=contact, event=event)
            t = clock()
            session = engine.handle(session, reply).session
            took = clock() - t
            if warm <= 0:
                latencies.append(took)
        assert session is not None and session.end_reason == "completed", script
        starts += 1
        if warm > 0:
            warm -= 1
            if warm == 0:
                start_time, starts = 0.0, 0
    return latencies, starts, start_time


def report(name: str, latencies: list[float], starts: int, start_time: float) -> None:
    total = sum(latencies)
    latencies.sort()
    rate = len(latencies) / total
    print(
        f"engine, invitation flow, one core, {name}: {len(latencies):,} replies in "
        f"{total:.2f} s of CPU = {rate:,.0f} replies/s ({rate / TARGET:.1f} x the "
        f"{TARGET:,}/s target); p50 {percentile(latencies, 0.5) * 1e6:.0f} us, "
        f"p99 {percentile(latencies, 0.99) * 1e6:.0f} us per reply; "
        f"{starts / start_time:,.0f} flow starts/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    settings = Settings(flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None)
    engine = build_engine(settings)
    answers = cycle(ANSWERS)
    workloads: list[tuple[str, Callable[[int], list[tuple[str, str]]]]] = [
        ("english", lambda n: ENGLISH),
        ("twelve languages", lambda n: [next(answers)]),
        ("never seen", lambda n: [("en", f"yes, see you there, neighbour{n}")]),
    ]
    for name, replies in workloads:
        report(name, *run(engine, replies, args.seconds))


if __name__ == "__main__":
    main()
