"""The phone simulator: behind a login, JSON only, and through the real message path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.services.demo import seed
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Message
from outreach.web.app import create_app
from outreach.web.simulator import LoginThrottle
from tests.conftest import ROOT
from tests.services.conftest import add_contact
from tests.web.conftest import free_port, running

PASSWORD = "correct horse battery staple"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def simulator(
    settings: Settings, db: Database, clock: ManualClock
) -> Iterator[tuple[str, Runtime]]:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("s" * 32)}
    )
    runtime = Runtime.build(configured, clock=clock, db=db)
    seed(runtime)
    runtime.due.run()  # as the demo's worker does at once: the invitations go out
    runtime.dispatcher.flush()
    port = free_port()
    with running(create_app(runtime), port) as url:
        yield url, runtime


@contextmanager
def logged_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        yield client


def test_pages_and_api_need_a_login(simulator: tuple[str, Runtime]) -> None:
    url, _ = simulator
    assert httpx.get(f"{url}/simulator").headers["location"] == "/login"
    assert httpx.get(f"{url}/simulator/api/contacts").status_code == 401
    wrong = httpx.post(f"{url}/login", data={"password": "guess"})
    assert wrong.status_code == 401 and "Wrong password." in wrong.text
    with logged_in(url) as client:
        assert client.get("/simulator").status_code == 200
        assert len(client.get("/simulator/api/contacts").json()) == 3
        client.post("/logout")
        assert client.get("/simulator/api/contacts").status_code == 401


def test_api_accepts_only_json(simulator: tuple[str, Runtime]) -> None:
    url, _ = simulator
    with logged_in(url) as client:
        form = client.post("/simulator/api/contacts", data={"phone": "07400123499"})
        assert form.status_code in (415, 422)
        made = client.post(
            "/simulator/api/contacts",
            json={"phone": "07400 123499", "first_name": "Ola", "language": "pl"},
        )
        assert made.status_code == 200 and made.json()["phone"] == "+447400123499"


def test_simulator_cannot_take_over_a_real_contact(simulator: tuple[str, Runtime]) -> None:
    url, runtime = simulator
    add_contact(runtime.db, 40, at=runtime.clock())
    with logged_in(url) as client:
        answer = client.post("/simulator/api/contacts", json={"phone": "+447400123496"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == "that number belongs to a real contact: pick another"


def test_fire_now_makes_the_reminder_arrive(simulator: tuple[str, Runtime]) -> None:
    url, _ = simulator
    with logged_in(url) as client:
        amina = client.get("/simulator/api/contacts").json()[0]
        api = f"/simulator/api/contacts/{amina['id']}"
        client.post(f"{api}/start", json={"flow": "event-place-offer"})
        fired = client.post(f"{api}/fire", json={}).json()
        conversation = client.get(api).json()
    assert fired == {
        "fired": "reminder",
        "message": "A reminder of the question waiting for an answer happened now: 1 message sent.",
    }
    assert [m["kind"] for m in conversation["messages"]][-2:] == ["question", "reminder"]
    assert conversation["next_due"]["kind"] == "timeout"


def test_fire_now_says_when_nothing_is_waiting(simulator: tuple[str, Runtime]) -> None:
    url, _ = simulator
    with logged_in(url) as client:
        ola = client.post(
            "/simulator/api/contacts", json={"phone": "07400 123499", "first_name": "Ola"}
        ).json()
        fired = client.post(f"/simulator/api/contacts/{ola['id']}/fire", json={}).json()
    assert fired == {"fired": None, "message": "Nothing is waiting to happen for Ola."}


def test_the_status_says_the_question_in_words_and_no_reminder_after_the_event(
    simulator: tuple[str, Runtime],
) -> None:
    url, runtime = simulator
    starts = runtime.clock() + timedelta(days=1, hours=3)  # the demo event
    with logged_in(url) as client:
        amina = client.get("/simulator/api/contacts").json()[0]
        conversation = client.get(f"/simulator/api/contacts/{amina['id']}").json()
    summary = conversation["session"]["summary"]
    assert summary.startswith("big-conversation-invite is waiting for an answer to: “Hi Amina")
    assert summary.endswith("Can you come?”")
    assert "invite:" not in summary and "waiting at" not in summary  # no step names
    # The invitation's 48h reminder would come after the event: the next thing is its close.
    assert conversation["next_due"] == {
        "kind": "timeout",
        "at": starts.isoformat(),
        "what": "the conversation closes, as its event stops taking replies then",
    }
    said = conversation["messages"][0]
    assert (said["lang"], said["dir"], said["at"]) == ("en", "ltr", runtime.clock().isoformat())


def test_fire_now_brings_the_events_reminders_to_one_person_only(
    simulator: tuple[str, Runtime],
) -> None:
    url, runtime = simulator
    with logged_in(url) as client:
        people = {c["first_name"]: c["id"] for c in client.get("/simulator/api/contacts").json()}
        amina, bronwen = people["Amina"], people["Bronwen"]
        for cid in (amina, bronwen):
            for reply in ("yes", "none"):
                client.post(f"/simulator/api/contacts/{cid}/send", json={"text": reply})

        def fire() -> dict[str, str]:
            answer: dict[str, str] = client.post(
                f"/simulator/api/contacts/{amina}/fire", json={}
            ).json()
            return answer

        assert fire() == {
            "fired": "event",
            "message": "The event's reminder (event-reminder) happened now: 1 message sent.",
        }
        client.post(f"/simulator/api/contacts/{amina}/send", json={"text": "yes"})
        assert fire()["message"] == (
            "The event's reminder (event-reminder-soon) happened now: 1 message sent."
        )
        assert fire()["message"] == (
            "The event's follow-up (post-event-survey) happened now: 1 message sent."
        )

    def reminders(cid: int) -> int:
        with runtime.db.transaction() as tx:
            return len(
                tx.scalars(
                    select(Message.id).where(
                        Message.contact_id == cid,
                        Message.flow == "event-reminder",
                        Message.kind == "question",
                    )
                ).all()
            )

    assert (reminders(amina), reminders(bronwen)) == (1, 0)  # Bronwen's waits for its time
    runtime.clock.now += timedelta(hours=3)  # type: ignore[attr-defined]
    runtime.due.run()
    assert (reminders(amina), reminders(bronwen)) == (1, 1)  # Amina's is not sent again


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_browser_registration_by_texting_join(simulator: tuple[str, Runtime]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, _ = simulator
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{url}/simulator")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#contact")).to_contain_text("Amina")
            page.select_option("#contact", label="Marek · +447400123458 · pl")
            phone = page.locator("#messages")
            # Marek's language is Polish: the flow talks Polish, and "tak" is his yes.
            for reply, answer in [
                ("JOIN", "Jak masz na imię?"),
                ("Marek", "W jakim języku"),
                ("Polski", "Jak chcesz otrzymać zapłatę?"),
                ("2", "Odpowiedz TAK lub NIE."),
                ("tak", "jesteś zapisany/a"),
            ]:
                page.fill("#text", reply)
                page.click("#reply button")
                expect(phone).to_contain_text(answer)
            expect(phone).to_contain_text("segment")
            page.screenshot(path=str(artifacts / "simulator-join.png"), full_page=True)
        finally:
            browser.close()


def test_login_throttle_counts_failures_per_address_in_a_window() -> None:
    throttle = LoginThrottle(limit=3, window=600)
    for at in (0.0, 10.0, 20.0):
        assert throttle.wait("203.0.113.9", at) == 0
        throttle.failed("203.0.113.9", at)
    assert throttle.wait("203.0.113.9", 30.0) == 570.0  # until the first failure is old
    assert throttle.wait("198.51.100.7", 30.0) == 0  # another address is not affected
    assert throttle.wait("203.0.113.9", 600.0) == 0
    throttle.failed("203.0.113.9", 601.0)
    throttle.succeeded("203.0.113.9")
    assert throttle.wait("203.0.113.9", 602.0) == 0


def test_too_many_wrong_passwords_lock_the_address_out_even_with_the_right_one(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("s" * 32)}
    )
    app = create_app(Runtime.build(configured, clock=clock, db=db))
    app.state.login_throttle = LoginThrottle(limit=1)
    with running(app, free_port()) as url, httpx.Client(base_url=url) as client:
        assert client.post("/login", data={"password": "guess"}).status_code == 401
        locked = client.post("/login", data={"password": PASSWORD})
        assert locked.status_code == 429
        assert "Too many wrong passwords. Try again in 15 minute(s)." in locked.text
        assert int(locked.headers["retry-after"]) > 800
        assert client.get("/simulator/api/contacts").status_code == 401
