"""Several worker processes share one outbox on PostgreSQL: each message goes out once, and a
worker killed mid-send loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from outreach.channels.fake_twilio import FakeTwilio
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Message, OutboxItem
from tests.conftest import ROOT
from tests.faults.accounting import account
from tests.seeding import queue_messages
from tests.web.conftest import OUR_NUMBER

MESSAGES = 10_000
BATCH = 20


def sending_runtime(settings: Settings, db: Database, fake: FakeTwilio) -> Runtime:
    """A runtime in this process that sends through ``fake``, to finish what workers left."""
    configured = settings.model_copy(
        update={
            "database_url": db.url,
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": SecretStr(fake.auth_token),
            "twilio_from_number": OUR_NUMBER,
            "twilio_api_url": fake.url,
            "send_rate": 10_000.0,
        }
    )
    return Runtime.build(configured, db=db)


def worker_env(db: Database, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    """The environment of a worker process: this test's database and the fake Twilio."""
    return {
        **os.environ,
        "OUTREACH_DATABASE_URL": db.url,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": OUR_NUMBER,
        "OUTREACH_TWILIO_API_URL": fake.url,
        "OUTREACH_SEND_RATE": "10000",
        **extra,
    }


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_four_workers_send_each_message_once_even_when_one_is_killed(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    queue_messages(db, MESSAGES)
    with FakeTwilio(send_callbacks=False) as fake:
        env = worker_env(db, fake, OUTREACH_SEND_BATCH=str(BATCH), OUTREACH_SEND_LEASE_SECONDS="3")
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "outreach.cli", "outbox", "flush"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        deadline = time.monotonic() + 180  # starting processes on a busy machine is slow
        while len(fake.messages) < MESSAGES // 10:
            assert time.monotonic() < deadline, "the workers did not start sending"
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        for worker in workers[1:]:
            output, _ = worker.communicate(timeout=600)
            assert worker.returncode == 0, output
        workers[0].wait(timeout=30)
        time.sleep(3.5)  # the killed worker's lease runs out
        runtime = Runtime.build(settings.model_copy(update={"database_url": db.url}), db=db)
        abandoned = runtime.dispatcher.reconcile()
        assert str(runtime.dispatcher.flush()) == "nothing to send"

    bodies = Counter(m["body"] for m in fake.messages)
    assert max(bodies.values()) == 1, "a message was sent twice"
    with db.transaction() as tx:
        sent = tx.scalar(
            select(func.count()).select_from(Message).where(Message.provider_id.is_not(None))
        )
        unknown = tx.scalar(
            select(func.count()).select_from(Message).where(Message.status == "unknown")
        )
        left = tx.scalar(select(func.count()).select_from(OutboxItem))
    assert left == 0
    assert sent is not None and unknown is not None
    assert sent + unknown == MESSAGES, "a message was lost"
    assert unknown == abandoned and unknown <= BATCH  # only the killed worker's claim
    assert sent <= len(fake.messages) <= sent + unknown
    account(db, acknowledged=[]).assert_whole()


def test_sigterm_finishes_the_send_under_way_and_hands_back_the_rest(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    queue_messages(db, 300)
    with FakeTwilio(send_callbacks=False, latency=0.05) as fake:
        env = worker_env(db, fake, OUTREACH_SEND_BATCH="50")
        worker = subprocess.Popen(
            [sys.executable, "-m", "outreach.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 180  # starting processes on a busy machine is slow
        while len(fake.messages) < 30:
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker did not start sending"
            time.sleep(0.02)
        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        took = time.monotonic() - asked
        assert worker.returncode == 0, output
        assert took < 25
        sent_before = len(fake.messages)
        with db.transaction() as tx:
            states = Counter(tx.scalars(select(OutboxItem.state)))
        assert states == Counter({"queued": 300 - sent_before}), "nothing left half-sent"
        runtime = sending_runtime(settings, db, fake)
        fake.latency = 0
        runtime.dispatcher.flush()
    bodies = Counter(m["body"] for m in fake.messages)
    assert len(bodies) == 300 and max(bodies.values()) == 1
