"""The web process is killed (SIGKILL) while texts pour in: every text it acknowledged is in
the store, once; the provider's retries of the others, to a new process, are stored once too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from outreach.channels.fake_twilio import FakeTwilio
from outreach.store.database import Database
from tests.conftest import mobile
from tests.faults.accounting import account
from tests.faults.test_worker_kill import worker_env
from tests.web.conftest import OUR_NUMBER, free_port

TEXTS = 300


def start_web(db: Database, fake: FakeTwilio, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = worker_env(db, fake, OUTREACH_PUBLIC_URL=f"http://127.0.0.1:{port}")
    web = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 180  # starting a process on a busy machine is slow
    while True:
        assert web.poll() is None, "the web process exited"
        assert time.monotonic() < deadline, "the web process did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return web
        except httpx.TransportError:
            time.sleep(0.1)


def text_in(port: int, fake: FakeTwilio, n: int) -> bool:
    """One signed inbound text; True if the web process acknowledged it."""
    url = f"http://127.0.0.1:{port}/twilio/sms"
    params = {
        "MessageSid": f"SM{n:032d}",
        "AccountSid": fake.account_sid,
        "From": mobile(100 + n % 50),
        "To": OUR_NUMBER,
        "Body": f"message {n}",
    }
    signature = RequestValidator(fake.auth_token).compute_signature(url, params)
    try:
        answer = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    except httpx.TransportError:
        return False
    return answer.status_code == 200


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_killed_web_process_loses_no_acknowledged_text(db: Database, tmp_path: Path) -> None:
    with FakeTwilio(send_callbacks=False) as fake:
        port = free_port()
        web = start_web(db, fake, port, tmp_path)
        with ThreadPoolExecutor(8) as pool:
            answers = [pool.submit(text_in, port, fake, n) for n in range(TEXTS)]
            deadline = time.monotonic() + 120
            while sum(a.done() for a in answers) < TEXTS // 3:
                assert time.monotonic() < deadline, "the texts did not get through"
                time.sleep(0.01)
            os.kill(web.pid, signal.SIGKILL)
            acknowledged = [n for n, a in enumerate(answers) if a.result()]
        web.wait(timeout=30)
        assert TEXTS // 3 <= len(acknowledged) < TEXTS, "the kill did not land mid-way"

        web = start_web(db, fake, port, tmp_path)  # Twilio's retries reach a new process
        try:
            for n in set(range(TEXTS)) - set(acknowledged):
                assert text_in(port, fake, n)
        finally:
            web.terminate()
            web.wait(timeout=30)
    account(db, acknowledged=[f"SM{n:032d}" for n in range(TEXTS)]).assert_whole()
