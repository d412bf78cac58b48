"""``outreach demo`` as a newcomer runs it: a real process, a browser's requests, no accounts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from outreach.cli import app
from outreach.settings import Settings
from tests.conftest import ROOT
from tests.web.conftest import free_port


def demo_env(*, folders: bool = True) -> dict[str, str]:
    """The environment a demo starts in; without ``folders``, as a newcomer's shell has it:
    nothing says where the flows and catalogs are."""
    env = {**os.environ, "OUTREACH_ADMIN_PASSWORD": "correct horse battery staple"}
    for name in ("OUTREACH_DATABASE_URL", "OUTREACH_FLOWS_DIR", "OUTREACH_LOCALES_DIR"):
        env.pop(name, None)
    if folders:
        env["OUTREACH_FLOWS_DIR"] = str(ROOT / "flows")
        env["OUTREACH_LOCALES_DIR"] = str(ROOT / "locales")
    return env


def start_demo(cwd: Path, *options: str, folders: bool = True) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "demo", *options],
        cwd=cwd,
        env=demo_env(folders=folders),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def refused(cwd: Path, *options: str) -> str:
    """What a demo that must not start says; it fails the test if it starts after all."""
    process = start_demo(cwd, *options)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("the demo started when it should have refused") from None
    assert process.returncode == 1, output
    assert "Traceback" not in output, output
    return output


@dataclass
class Run:
    """A demo while it runs (``browser``), and what it printed once stopped (``output``)."""

    browser: httpx.Client
    port: int
    output: str = ""
    lines: list[str] = field(default_factory=list)


@contextlib.contextmanager
def demo(
    tmp_path: Path, *options: str, port: int | None = None, folders: bool = True
) -> Iterator[Run]:
    """The demo running in its own process, and a browser logged in to it."""
    port = port or free_port()
    process = start_demo(tmp_path, "--port", str(port), *options, folders=folders)
    base = f"http://127.0.0.1:{port}"
    run: Run | None = None
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
            run = Run(browser, port)
            yield run
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "log in with the password: correct horse battery staple" in output
    assert process.returncode == 0, output
    if run is not None:
        run.output = output


def amina(browser: httpx.Client, name: str = "Amina") -> str:
    """The simulator's address for a demo person's conversation (Amina's unless named)."""
    people = browser.get("/simulator/api/contacts").json()
    person = next(p for p in people if p["first_name"] == name)
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


def event_start(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        row = connection.execute(
            "SELECT starts_at FROM events WHERE id = 'demo-big-conversation'"
        ).fetchone()
    return str(row[0])


def test_demo_invites_the_demo_people_and_completes_the_invitation(tmp_path: Path) -> None:
    with demo(tmp_path) as run:
        api = amina(run.browser)
        wait_for(run.browser, api, "Hi Amina, you're invited", 15)
        assert run.browser.post(f"{api}/send", json={"text": "yes"}).is_success
        assert run.browser.post(f"{api}/send", json={"text": "A quiet room"}).is_success
        sent = wait_for(run.browser, api, "Thank you, see you on", 15)
        assert all(m["status"] == "delivered" for m in sent[:-1])
    assert (tmp_path / "outreach-demo.db").exists()


def test_a_demo_started_outside_the_checkout_writes_welsh_and_polish_as_they_are_read(
    tmp_path: Path,
) -> None:
    # Started in an empty folder with nothing set, as a newcomer might: it finds the
    # checkout's flows and catalogs, and the event's own words come in Welsh too.
    with demo(tmp_path, folders=False) as run:
        api = amina(run.browser, "Bronwen")
        sent = wait_for(run.browser, api, "Rydym yn talu", 15)
        polish = wait_for(run.browser, amina(run.browser, "Marek"), "Płacimy", 15)
    # The topic in the case Polish sentences put it in ("Rozmowa o ...": the locative).
    assert "Wielką Rozmowę o wsparciu zdrowia psychicznego" in polish[0]["body"]
    welsh = " ".join(m["body"] for m in sent)
    assert sent[0]["body"].startswith("Helo Bronwen, dyma wahoddiad i Sgwrs Fawr")
    for said in ("cymorth iechyd meddwl yn y gymuned", "Canolfan Gymuned", "£20 am eich amser"):
        assert said in welsh, welsh
    for english in ("community", "Riverside", "for your time", "mental health"):
        assert english not in welsh, welsh


def test_fast_demo_brings_the_day_before_reminder_in_seconds(tmp_path: Path) -> None:
    with demo(tmp_path, "--fast") as run:
        api = amina(run.browser)
        wait_for(run.browser, api, "Hi Amina, you're invited", 15)
        assert run.browser.post(f"{api}/send", json={"text": "yes"}).is_success
        assert run.browser.post(f"{api}/send", json={"text": "none"}).is_success
        # The event is a day and three hours away: at 600 times, the reminder a day before
        # is due about 18 seconds after the demo starts.
        wait_for(run.browser, api, "Reminder: the Big Conversation", 60)


def test_a_restarted_demo_starts_afresh_and_tells_nobody_the_event_moved(
    tmp_path: Path,
) -> None:
    with demo(tmp_path) as run:
        api = amina(run.browser)
        wait_for(run.browser, api, "Hi Amina, you're invited", 15)
        assert run.browser.post(f"{api}/send", json={"text": "yes"}).is_success
        wait_for(run.browser, api, "Great! Would anything help", 15)
    time.sleep(1.1)  # the restarted demo's event is a second later than the first one's
    with demo(tmp_path) as run:
        api = amina(run.browser)
        wait_for(run.browser, api, "Hi Amina, you're invited", 15)
        time.sleep(3)  # a moved event's news would go out with the invitations
        bodies = [m["body"] for m in outgoing(run.browser, api)]
    assert len(bodies) == 2 and bodies[0].startswith("Hi Amina, you're invited"), bodies


def test_a_second_demo_refuses_to_start_before_touching_anything(tmp_path: Path) -> None:
    database = tmp_path / "outreach-demo.db"
    with demo(tmp_path) as run:
        api = amina(run.browser)
        wait_for(run.browser, api, "Hi Amina, you're invited", 15)
        assert run.browser.post(f"{api}/send", json={"text": "yes"}).is_success
        wait_for(run.browser, api, "Great! Would anything help", 15)
        starts = event_start(database)
        time.sleep(1.1)  # a second demo that seeded would move the event by a second or more
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for cwd, options, says in [
            (tmp_path, ["--port", str(free_port())], "another outreach demo"),
            (elsewhere, ["--port", str(run.port)], f"port {run.port}"),
        ]:
            output = refused(cwd, *options)
            assert says in output, output
        assert not (elsewhere / "outreach-demo.db").exists()
        time.sleep(2)
        assert event_start(database) == starts
        bodies = [m["body"] for m in outgoing(run.browser, api)]
        assert not any(body.startswith("Change to") for body in bodies), bodies


def test_the_demo_says_how_to_look_at_it_with_the_coordinators_commands(tmp_path: Path) -> None:
    with demo(tmp_path) as run:
        wait_for(run.browser, amina(run.browser), "Hi Amina, you're invited", 15)
    found = re.search(r"OUTREACH_DATABASE_URL=(\S+) outreach events show (\S+)", run.output)
    assert found, run.output
    url, event = found.group(1).strip("'"), found.group(2)
    assert url == f"sqlite:///{tmp_path / 'outreach-demo.db'}"
    env = {**demo_env(), "OUTREACH_DATABASE_URL": url}
    shown = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "events", "show", event],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Big Conversation: mental health support in Worcester" in shown.stdout
    assert "invited:   4" in shown.stdout  # Amina, Bronwen, Marek and Priya (on Slack)
    listed = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "events", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.stdout.startswith(f"{event}  "), listed.stdout  # soonest first


def test_the_demo_never_wipes_a_database_it_did_not_make(tmp_path: Path) -> None:
    real = tmp_path / "outreach.db"
    settings = Settings(database_url=f"sqlite:///{real}", _env_file=None)
    assert CliRunner().invoke(app, ["db", "upgrade"], obj=settings).exit_code == 0
    before = real.read_bytes()
    output = refused(tmp_path, "--database", str(real), "--port", str(free_port()))
    assert "not a demo database" in output
    assert real.read_bytes() == before
