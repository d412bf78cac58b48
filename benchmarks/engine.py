"""Replies per second through the engine on the invitation flow (one core, no I/O).

Sessions are first started (timed separately, as starts per second); then each reply is timed
on its own: an invalid reply (re-asked with a hint), "yes" (RSVP, next question) and an access
need (confirmation with the event's date and venue, end). Contacts have 1,000 different names.
Run:

    python benchmarks/engine.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from outreach.conversations.simulation import demo_event
from outreach.flows.state import Contact, Reply, Session, Start
from outreach.services.flows import build_engine
from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REPLIES = ["purple", "yes", "I use a wheelchair"]


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    settings = Settings(flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None)
    engine = build_engine(settings)
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    event = demo_event(now)
    contacts = [Contact(fields={"first_name": f"Person{i}"}) for i in range(1000)]

    start_time = reply_time = 0.0
    starts = replies = 0
    latencies: list[float] = []
    clock = time.perf_counter
    deadline = clock() + args.seconds
    warm = 300
    while clock() < deadline or warm > 0:
        contact = contacts[starts % len(contacts)]
        t = clock()
        outcome = engine.handle(
            None, Start(flow="big-conversation-invite", at=now, contact=contact, event=event)
        )
        start_time += clock() - t
        session: Session | None = outcome.session
        for text in REPLIES:
            reply = Reply(text=text, at=now, contact=contact, event=event)
            t = clock()
            session = engine.handle(session, reply).session
            took = clock() - t
            if warm <= 0:
                reply_time += took
                latencies.append(took)
        assert session is not None and session.end_reason == "completed"
        starts += 1
        if warm > 0:
            warm -= 1
            if warm == 0:
                start_time, starts = 0.0, 0
    replies = len(latencies)
    latencies.sort()
    print(
        f"engine, invitation flow, one core: {replies:,} replies in {reply_time:.2f} s of "
        f"engine time = {replies / reply_time:,.0f} replies/s; "
        f"p50 {percentile(latencies, 0.5) * 1e6:.0f} us, "
        f"p99 {percentile(latencies, 0.99) * 1e6:.0f} us per reply; "
        f"{starts / start_time:,.0f} flow starts/s"
    )


if __name__ == "__main__":
    main()
