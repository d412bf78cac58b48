"""``outreach demo`` as a newcomer runs it: a real process, a browser's requests, no accounts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT
from tests.web.conftest import free_port


@contextlib.contextmanager
def demo(tmp_path: Path, *options: str) -> Iterator[httpx.Client]:
    """The demo running in its own process, and a browser logged in to it."""
    port = free_port()
    env = {
        **os.environ,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "OUTREACH_ADMIN_PASSWORD": "correct horse battery staple",
    }
    env.pop("OUTREACH_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "demo", "--port", str(port), *options],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base) as browser:
            assert (
                browser.post(
                    "/login", data={"password": "correct horse battery staple"}
                ).status_code
                == 303
            )
            yield browser
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "log in with the password: correct horse battery staple" in output
    assert process.returncode == 0


def amina(browser: httpx.Client) -> str:
    people = browser.get("/simulator/api/contacts").json()
    person = next(p for p in people if p["first_name"] == "Amina")
    return f"/simulator/api/contacts/{person['id']}"


def outgoing(browser: httpx.Client, api: str) -> list[dict[str, Any]]:
    messages = browser.get(api).json()["messages"]
    return [m for m in messages if m["direction"] == "out"]


def wait_for(browser: httpx.Client, api: str, start: str, seconds: float) -> list[dict[str, Any]]:
    """Amina's messages, once one starting with ``start`` has arrived."""
    deadline = time.monotonic() + seconds
    while not any((m["body"] or "").startswith(start) for m in outgoing(browser, api)):
        assert time.monotonic() < deadline, f"no message starting {start!r} arrived"
        time.sleep(0.3)
    return outgoing(browser, api)


def test_demo_invites_the_demo_people_and_completes_the_invitation(tmp_path: Path) -> None:
    with demo(tmp_path) as browser:
        api = amina(browser)
        wait_for(browser, api, "Hi Amina, you're invited", 15)
        assert browser.post(f"{api}/send", json={"text": "yes"}).is_success
        assert browser.post(f"{api}/send", json={"text": "A quiet room"}).is_success
        sent = wait_for(browser, api, "Thank you, see you on", 15)
        assert all(m["status"] == "delivered" for m in sent[:-1])
    assert (tmp_path / "outreach-demo.db").exists()


def test_fast_demo_brings_the_day_before_reminder_in_seconds(tmp_path: Path) -> None:
    with demo(tmp_path, "--fast") as browser:
        api = amina(browser)
        wait_for(browser, api, "Hi Amina, you're invited", 15)
        assert browser.post(f"{api}/send", json={"text": "yes"}).is_success
        assert browser.post(f"{api}/send", json={"text": "none"}).is_success
        # The event is a day and three hours away: at 600 times, the reminder a day before
        # is due about 18 seconds after the demo starts.
        wait_for(browser, api, "Reminder: the Big Conversation", 60)
