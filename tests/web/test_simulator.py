"""The phone simulator: behind a login, JSON only, and through the real message path."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.services.demo import seed
from outreach.services.logins import LoginThrottle
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Message
from outreach.web.app import create_app
from tests.conftest import ROOT
from tests.services.conftest import add_contact
from tests.web.conftest import free_port, running

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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
    # the invitation and its question, the offer's question, then the offer's reminder
    kinds = [m["kind"] for m in conversation["messages"]]
    assert kinds == ["message", "question", "question", "reminder"]
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
    session = conversation["session"]
    assert session["summary"] == "big-conversation-invite is waiting for an answer to:"
    assert session["question"].startswith("We pay travel and your time")  # the question itself
    assert session["question"].endswith("Can you come?")
    assert "step" not in session  # no internal step names
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


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
# Every WCAG 2.0, 2.1 and 2.2 success criterion at levels A and AA that axe-core checks.
WCAG = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"],
    }
}


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (which never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

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
            yield browser
        finally:
            browser.close()


def no_violations(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until ``selector`` has the focus, and check the focus can be seen."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            break
    else:
        raise AssertionError(f"Tab never reached {selector}")
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"
    )
    assert ring[0] != "none" and ring[1] != "0px" and ring[2] != "none", ring


def artifacts() -> Path:
    folder = ROOT / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_simulator_by_keyboard_and_screen_reader_at_any_width(
    simulator: tuple[str, Runtime], width: int, height: int
) -> None:
    from playwright.sync_api import expect

    url, _ = simulator
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{url}/simulator")
        no_violations(page)  # the login page
        page.keyboard.type(PASSWORD)  # the password box has the focus
        page.keyboard.press("Enter")
        expect(page.locator("#contact")).to_contain_text("Amina")
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon and page.request.get(urljoin(page.url, icon)).ok
        phone, messages = page.locator("#phone"), page.locator("#messages > li")
        expect(messages).to_have_count(2)  # Amina's invitation, and its question
        no_violations(page)

        # Who said it, in which language, and when (a date, not only a time).
        first = messages.first
        expect(first.locator(".visually-hidden")).to_have_text("Outreach: ")
        expect(first.locator(".text")).to_have_attribute("lang", "en")
        expect(first.locator("time")).to_have_text(re.compile(r"^\w{3} \d{1,2} \w{3}"))
        expect(page.locator("#state")).to_contain_text("waiting for an answer to: We pay")
        expect(page.locator("#state q")).to_have_attribute("lang", "en")
        expect(page.locator("#state")).not_to_contain_text("waiting at")

        # Nothing waiting: said where the phone is, and not wiped by the next refresh.
        tab_to(page, "#contact")
        page.keyboard.type("Marek")
        expect(page.locator("#phone-name")).to_contain_text("Marek")
        tab_to(page, "#text")
        page.keyboard.type("STOP")
        page.keyboard.press("Enter")
        expect(messages.last.locator(".text")).to_have_attribute("lang", "pl")
        expect(page.locator("#announcer")).to_contain_text("Outreach: ")  # read out politely
        expect(page.locator("#announcer [lang=pl]")).to_have_count(1)
        expect(phone).to_be_in_viewport()
        tab_to(page, "#fire")
        page.keyboard.press("Enter")
        notice = page.locator("#notice")
        expect(notice).to_have_text("Nothing is waiting to happen for Marek.")
        expect(notice).to_be_in_viewport()
        page.wait_for_timeout(2500)  # a refresh later, the answer is still there
        expect(notice).to_have_text("Nothing is waiting to happen for Marek.")

        # An Urdu speaker's messages run right to left.
        tab_to(page, "#new-contact-box summary")
        page.keyboard.press("Enter")
        tab_to(page, "#new-phone")
        page.keyboard.type("07400 123466")
        tab_to(page, "#new-name")
        page.keyboard.type("Sana")
        tab_to(page, "#new-language")
        for _ in range(4):  # English, Cymraeg, Polski, Română, then اردو
            page.keyboard.press("ArrowDown")
        tab_to(page, "#new-contact button")
        page.keyboard.press("Enter")
        expect(page.locator("#phone-name")).to_contain_text("Sana")
        tab_to(page, "#text")
        page.keyboard.type("HELP")
        page.keyboard.press("Enter")
        expect(messages.last.locator(".text")).to_have_attribute("dir", "rtl")
        expect(page.locator("#text")).to_be_in_viewport()

        tab_to(page, "#flow")
        page.keyboard.type("event-place-offer")
        tab_to(page, "#start")
        page.keyboard.press("Enter")
        expect(notice).to_have_text("Started event-place-offer.")
        expect(page.locator("#text")).to_be_in_viewport()
        expect(page.locator("#state")).to_contain_text("Next: a reminder of the question")
        no_violations(page)
        page.screenshot(path=str(artifacts() / f"simulator-{width}.png"), full_page=True)
        assert problems == []


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_browser_registration_by_texting_join(simulator: tuple[str, Runtime]) -> None:
    from playwright.sync_api import expect

    url, _ = simulator
    with chromium() as browser:
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
        page.screenshot(path=str(artifacts() / "simulator-join.png"), full_page=True)


def test_login_throttle_counts_failures_per_address_in_a_window(
    db: Database, clock: ManualClock
) -> None:
    throttle = LoginThrottle(db, clock=clock, limit=3, window=timedelta(seconds=600))
    start = clock.now
    for at in (0, 10, 20):
        clock.now = start + timedelta(seconds=at)
        assert throttle.wait("address:203.0.113.9") == 0
        throttle.failed("address:203.0.113.9")
    clock.now = start + timedelta(seconds=30)
    assert throttle.wait("address:203.0.113.9") == 570.0  # until the first failure is old
    assert throttle.wait("address:198.51.100.7") == 0  # another address is not affected
    clock.now = start + timedelta(seconds=600)
    assert throttle.wait("address:203.0.113.9") == 0
    clock.now = start + timedelta(seconds=601)
    throttle.failed("address:203.0.113.9")
    throttle.succeeded("address:203.0.113.9")
    assert throttle.wait("address:203.0.113.9") == 0


def test_too_many_wrong_passwords_lock_the_address_out_even_with_the_right_one(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("s" * 32)}
    )
    app = create_app(Runtime.build(configured, clock=clock, db=db))
    app.state.login_throttle = LoginThrottle(db, clock=clock, limit=1)
    with running(app, free_port()) as url, httpx.Client(base_url=url) as client:
        assert client.post("/login", data={"password": "guess"}).status_code == 401
        locked = client.post("/login", data={"password": PASSWORD})
        assert locked.status_code == 429
        assert "Too many wrong passwords. Try again in 15 minute(s)." in locked.text
        assert int(locked.headers["retry-after"]) > 800
        assert client.get("/simulator/api/contacts").status_code == 401


def test_an_impossible_contact_id_is_a_client_error(simulator: tuple[str, Runtime]) -> None:
    url, _ = simulator
    with logged_in(url) as client:
        for path in ("/simulator/api/contacts/" + "9" * 23, "/simulator/api/contacts/0"):
            assert client.get(path).status_code == 422
        assert client.get("/simulator/api/contacts/99999").status_code == 400  # no such person
