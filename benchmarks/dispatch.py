"""Dispatcher throughput against a slow provider, at a configured send rate.

Queues messages in bulk, then has one worker's dispatcher send them all through the real
twilio client to the fake Twilio, which answers each request after ``--latency`` seconds.
The shared rate limit is set to ``--rate`` messages a second; the figure to read is how close
the throughput comes to it. Run:

    python benchmarks/dispatch.py [--messages 3000] [--rate 100] [--latency 0.02]
        [--concurrency 8] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook import reset_postgres  # noqa: E402
from outreach.channels.fake_twilio import FakeTwilio  # noqa: E402
from outreach.services.runtime import Runtime  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.store.database import Database  # noqa: E402
from outreach.store.migrate import upgrade  # noqa: E402
from tests.seeding import queue_messages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'dispatch.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    db = Database(url)
    upgrade(db)
    queue_messages(db, args.messages)
    with FakeTwilio(latency=args.latency, send_callbacks=False) as fake:
        settings = Settings(
            database_url=url,
            flows_dir=ROOT / "flows",
            locales_dir=ROOT / "locales",
            twilio_account_sid=fake.account_sid,
            twilio_auth_token=SecretStr(fake.auth_token),
            twilio_from_number="+447400999999",
            twilio_api_url=fake.url,
            send_rate=args.rate,
            send_concurrency=args.concurrency,
            send_batch=100,
            _env_file=None,
        )
        rt = Runtime.build(settings, db=db)
        started = time.perf_counter()
        report = rt.dispatcher.flush()
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database        {db.engine.dialect.name}")
    print(f"messages        {args.messages} ({report})")
    print(f"provider        {args.latency * 1000:.0f} ms a request; limit {args.rate:g}/s")
    print(f"throughput      {report.counts.get('sent', 0) / elapsed:.1f} messages/s")
    print(f"elapsed         {elapsed:.1f} s; peak RSS {peak:.0f} MB")
    rt.close()


if __name__ == "__main__":
    main()
