"""Dispatcher throughput as a share of the configured send rate.

The baseline is the configured rate itself: the shared rate limit says how many messages a
second may go, and the figure to read is the ratio of what arrived at the provider to that.
For each configured rate (``--rates``) and number of worker processes (``--workers``; more
than one only on PostgreSQL), the outbox is filled with ``rate x --seconds`` messages to
different people, the workers are started (``outreach outbox flush`` processes sharing the
store, each with its own event loop and connections) and the fake Twilio, in a process of its
own and answering each request after ``--latency`` seconds, times the arrivals: achieved rate
= messages after the first / time from the first arrival to the last (process start-up is not
counted). Every message must arrive exactly once. Rounds interleave the configurations, so a
busy spell on a shared machine touches them all; the median ratio of each is printed last.

    python benchmarks/dispatch.py [--rates 100 500 1000] [--workers 1 2] [--rounds 3]
        [--seconds 5] [--latency 0.02] [--database-url postgresql+psycopg://...] [--skip-sqlite]

With a PostgreSQL URL the benchmark empties that database's ``public`` schema first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook import reset_postgres  # noqa: E402
from outreach.channels.fake_twilio import FakeTwilio  # noqa: E402
from outreach.store.database import Database  # noqa: E402
from outreach.store.migrate import upgrade  # noqa: E402
from tests.seeding import queue_messages  # noqa: E402

OUR_NUMBER = "+447400999999"


@dataclass(frozen=True)
class Config:
    database: str  # sqlite | postgresql
    rate: float
    workers: int

    def __str__(self) -> str:
        plural = "" if self.workers == 1 else "s"
        return f"{self.database:<10} {self.rate:>6g}/s  {self.workers} worker{plural}"


def serve_fake(latency: float, control: Connection) -> None:
    """The fake Twilio in a process of its own, so its work is not the workers' (as Twilio's
    is not): answers the parent's "reset" and "arrivals"."""
    fake = FakeTwilio(latency=latency, send_callbacks=False).start()
    control.send((fake.url, fake.account_sid, fake.auth_token))
    while (command := control.recv()) != "stop":
        if command == "reset":
            fake.clear()
            control.send(None)
        else:  # the workers have exited: nothing is arriving
            bodies = {m["body"] for m in fake.messages}
            control.send((len(fake.messages), len(bodies), list(fake.arrivals)))
    fake.stop()


def prepare(config: Config, url: str, messages: int) -> None:
    if config.database == "postgresql":
        reset_postgres(url)
    db = Database(url)
    upgrade(db)
    queue_messages(db, messages)
    db.close()


def run(
    config: Config, url: str, messages: int, fake: tuple[str, str, str], control: Connection
) -> float:
    """Send ``messages`` with the workers of ``config``; returns the achieved rate."""
    fake_url, account_sid, auth_token = fake
    control.send("reset")
    control.recv()
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "TWILIO_ACCOUNT_SID": account_sid,
        "TWILIO_AUTH_TOKEN": auth_token,
        "TWILIO_FROM_NUMBER": OUR_NUMBER,
        "OUTREACH_TWILIO_API_URL": fake_url,
        "OUTREACH_SEND_RATE": str(config.rate),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "outreach.cli", "outbox", "flush"],
            env=env,
            cwd=tempfile.gettempdir(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(config.workers)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed:\n{output}")
    control.send("arrivals")
    count, distinct, arrivals = control.recv()
    if count != messages or distinct != messages:
        raise SystemExit(f"{config}: {count} requests for {distinct} of {messages} messages")
    return (count - 1) / (max(arrivals) - min(arrivals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 500.0, 1000.0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="of sending at each rate")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--database-url", help="PostgreSQL, as well as SQLite")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()

    urls = {} if args.skip_sqlite else {"sqlite": ""}
    if args.database_url:
        urls["postgresql"] = args.database_url
    configs = [
        Config(database, rate, workers)
        for database in urls
        for rate in args.rates
        for workers in (args.workers if database == "postgresql" else [1])
    ]
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(args.latency, child), daemon=True
    )
    server.start()
    fake = parent.recv()
    print(f"fake Twilio: {args.latency * 1000:.0f} ms a request, in its own process")
    print(f"{'round':<6} {'database':<10} {'limit':>8}  {'workers':<9} {'achieved':>9}  ratio")
    ratios: dict[Config, list[float]] = {config: [] for config in configs}
    for round_ in range(1, args.rounds + 1):
        for config in configs:
            messages = max(50, round(config.rate * args.seconds))
            url = urls[config.database] or f"sqlite:///{Path(tempfile.mkdtemp()) / 'd.db'}"
            prepare(config, url, messages)
            achieved = run(config, url, messages, fake, parent)
            ratio = achieved / config.rate
            ratios[config].append(ratio)
            print(f"{round_:<6} {config}  {achieved:>8.1f}/s  {ratio:.3f}", flush=True)
    parent.send("stop")
    server.join(timeout=10)
    print("\nmedian ratio of achieved to configured rate, over the rounds:")
    for config, found in ratios.items():
        print(f"  {config}  {statistics.median(found):.3f}  ({len(found)} rounds)")


if __name__ == "__main__":
    main()
