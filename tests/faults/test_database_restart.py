"""PostgreSQL goes away and comes back while a worker sends: every connection is dropped and
new ones are refused for a few seconds, as in a restart. The worker carries on by itself; a
message in flight at the cut is settled as unknown, never sent twice; nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from outreach.channels.fake_twilio import FakeTwilio
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import OutboxItem
from tests.faults.accounting import account
from tests.faults.proxy import CuttableProxy
from tests.faults.test_worker_kill import sending_runtime, worker_env
from tests.seeding import queue_messages

MESSAGES = 2000


def queued(db: Database) -> int:
    with db.transaction() as tx:
        found = tx.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "queued")
        )
    return found or 0


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_worker_rides_out_a_database_restart_and_sends_each_message_once(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    queue_messages(db, MESSAGES)
    where = urlsplit(db.url)
    log = tmp_path / "worker.log"
    with (
        CuttableProxy((where.hostname or "127.0.0.1", where.port or 5432)) as proxy,
        FakeTwilio(send_callbacks=False, latency=0.002) as fake,
        log.open("w") as output,
    ):
        proxied = db.url.replace(where.netloc, f"{where.username}@127.0.0.1:{proxy.port}")
        env = worker_env(db, fake, OUTREACH_DATABASE_URL=proxied, OUTREACH_SEND_LEASE_SECONDS="3")
        worker = subprocess.Popen(
            [sys.executable, "-m", "outreach.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180  # starting a process on a busy machine is slow
            while len(fake.messages) < MESSAGES // 4:
                assert worker.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the worker did not start sending"
                time.sleep(0.02)
            proxy.cut()
            time.sleep(3)
            proxy.restore()
            deadline = time.monotonic() + 180
            while queued(db):
                assert worker.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        finally:
            worker.terminate()  # hands back what it had claimed and not sent
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        time.sleep(3.5)  # a lease held at the cut runs out
        runtime = sending_runtime(settings, db, fake)
        runtime.dispatcher.reconcile()
        runtime.dispatcher.flush()  # what was handed back
    bodies = Counter(m["body"] for m in fake.messages)
    assert max(bodies.values()) == 1, "a message was sent twice"
    result = account(db, acknowledged=[])
    result.assert_whole()
    assert sum(result.outgoing.values()) == MESSAGES
