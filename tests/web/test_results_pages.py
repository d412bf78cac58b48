"""The coordinators' results pages, used as a coordinator would: behind the login, by
keyboard, at desktop and phone widths, checked by axe against WCAG 2.2 A and AA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import AnswerTheme, AuditEntry
from outreach.web.app import create_app
from tests.seeding import plant_event
from tests.services.test_results import EVENT, participants
from tests.web.conftest import free_port, running
from tests.web.test_simulator import (
    PASSWORD,
    artifacts,
    chromium,
    logged_in,
    needs_chromium,
    no_violations,
    tab_to,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def site(
    settings: Settings, db: Database, clock: ManualClock, t0: datetime
) -> Iterator[tuple[str, Runtime]]:
    people = participants()
    for n, person in enumerate(people):
        person.first_name = f"Person{n}"
    plant_event(db, EVENT, people, at=t0)
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("r" * 32)}
    )
    runtime = Runtime.build(configured, clock=clock, db=db)
    with running(create_app(runtime), free_port()) as url:
        yield url, runtime


PAGES = [
    f"/results/{EVENT}/access",
    "/results",
    f"/results/{EVENT}",
    f"/results/{EVENT}/answers",
    f"/results/{EVENT}/reach",
    "/people?q=Person1",
    "/people/1",
]


def test_pages_send_a_stranger_to_the_login(site: tuple[str, Runtime]) -> None:
    url, _ = site
    for page in PAGES:
        answer = httpx.get(f"{url}{page}")
        assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), page
    theme = httpx.post(f"{url}/results/{EVENT}/answers/1/themes", data={"theme": "x"})
    assert theme.status_code == 303 and theme.headers["location"] == "/login"


def test_event_page_shows_the_planted_numbers(site: tuple[str, Runtime]) -> None:
    url, _ = site
    with logged_in(url) as client:
        page = client.get(f"/results/{EVENT}").text
        assert "<td>93</td>" in page and "<td>72</td>" in page  # yes, attended
        assert "Black Caribbean" in page and "&lt;5" in page
        assert page.count("<svg") >= 3
        assert client.get("/results/nope").status_code == 404


def test_people_show_three_digits_unless_asked_and_asking_is_audited(
    site: tuple[str, Runtime],
) -> None:
    url, runtime = site
    with logged_in(url) as client:
        found = client.get("/people", params={"q": "Person7"}).text
        assert "...007" in found and "+447500000007" not in found
        assert client.get("/people", params={"q": "ethnicity=Polish"}).text.count("<tr>") == 38
        odd = client.get("/people", params={"q": 'x"] OR 1=1 --=1'})
        assert odd.status_code == 200 and "0 found" in odd.text
        person = client.get("/people/8").text
        assert "+447500000007" not in person and "Show the whole number" in person
        assert "opted in" in person  # the consent history
        revealed = client.get("/people/8", params={"reveal": "true"}).text
        assert "+447500000007" in revealed
        assert client.get("/people/99999").status_code == 404
    with runtime.db.transaction() as tx:
        actions = tx.scalars(select(AuditEntry.action).where(AuditEntry.contact_id == 8)).all()
    assert actions == ["reveal-number"]


def test_a_theme_can_be_given_only_to_a_quotable_answer(site: tuple[str, Runtime]) -> None:
    url, runtime = site
    with logged_in(url) as client:
        page = client.get(f"/results/{EVENT}/answers").text
        first = int(page.split('id="answer-', 1)[1].split('"', 1)[0])
        ok = client.post(f"/results/{EVENT}/answers/{first}/themes", data={"theme": "Buses"})
        assert ok.status_code == 303
        assert "Themes: buses" in client.get(f"/results/{EVENT}/answers").text
        bad = client.post(f"/results/{EVENT}/answers/1/themes", data={"theme": "Buses"})
        assert bad.status_code == 404  # an access need, not a quote
        junk = client.post(f"/results/{EVENT}/answers/{first}/themes", data={"theme": "<b>"})
        assert junk.status_code == 422
    with runtime.db.transaction() as tx:
        assert tx.scalars(select(AnswerTheme.theme)).all() == ["buses"]


def test_an_access_need_marked_met_is_counted_met(site: tuple[str, Runtime]) -> None:
    url, _ = site
    with logged_in(url) as client:
        page = client.get(f"/results/{EVENT}/access").text
        assert "24 told us, 0 met" in page and "wheelchair space" in page
        need = int(page.split('id="answer-', 1)[1].split('"', 1)[0])
        marked = client.post(
            f"/results/{EVENT}/answers/{need}/themes", data={"theme": "met", "back": "access"}
        )
        assert marked.status_code == 303 and marked.headers["location"].startswith(
            f"/results/{EVENT}/access"
        )
        assert "24 told us, 1 met" in client.get(f"/results/{EVENT}/access").text
        assert "met: <strong>&lt;5</strong>" in client.get(f"/results/{EVENT}").text  # afresh
        other = client.post(f"/results/{EVENT}/answers/{need}/themes", data={"theme": "cold"})
        assert other.status_code == 404  # an access need is only ever marked met


def go(page: Page) -> None:
    """Press Enter on a link or in a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_results_pages_by_keyboard_at_any_width(
    site: tuple[str, Runtime], width: int, height: int
) -> None:
    from playwright.sync_api import expect

    url, _ = site
    shots = artifacts()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{url}/results")
        expect(page.locator("#password")).to_be_focused()
        page.keyboard.type(PASSWORD)  # sent to the login, whose password box has the focus
        page.keyboard.press("Enter")
        page.wait_for_url("**/simulator")
        page.goto(f"{url}/results")
        expect(page.locator("h1")).to_have_text("Results")
        no_violations(page)

        tab_to(page, f"a[href='/results/{EVENT}']")
        go(page)
        expect(page.locator("h1")).to_contain_text(EVENT)
        expect(page.locator("#chart-replies")).to_be_visible()
        no_violations(page)
        page.screenshot(path=str(shots / f"results-event-{width}.png"), full_page=True)

        tab_to(page, f"nav.results a[href='/results/{EVENT}/answers']")
        go(page)
        tab_to(page, "#q")
        page.keyboard.type("buses 3")
        go(page)
        expect(page.locator("article.quote").first).to_contain_text("buses 3")
        first = page.locator("article.quote").first.get_attribute("id") or ""
        tab_to(page, f"#{first} input[name=theme]")
        page.keyboard.type("transport")
        go(page)
        expect(page.locator(f"#{first}")).to_contain_text("Themes: transport")
        expect(page.locator("#q")).to_have_value("buses 3")  # the search is kept
        no_violations(page)
        page.screenshot(path=str(shots / f"results-answers-{width}.png"), full_page=True)

        tab_to(page, f"nav.results a[href='/results/{EVENT}/access']")
        go(page)
        tab_to(page, "article.quote button")
        go(page)
        expect(page.locator("h2").first).to_contain_text("1 met")
        no_violations(page)

        tab_to(page, f"nav.results a[href='/results/{EVENT}/reach']")
        go(page)
        expect(page.locator("h1")).to_contain_text("Reach")
        no_violations(page)
        page.screenshot(path=str(shots / f"results-reach-{width}.png"), full_page=True)

        tab_to(page, "header a[href='/people']")
        go(page)
        tab_to(page, "#q")
        page.keyboard.type("Person199")
        go(page)
        expect(page.locator("tbody tr")).to_have_count(1)
        no_violations(page)
        tab_to(page, "tbody a")
        go(page)
        expect(page.locator("h1")).to_have_text("Person199")
        expect(page.locator("main")).to_contain_text("...199")
        no_violations(page)
        page.screenshot(path=str(shots / f"results-person-{width}.png"), full_page=True)
        print(f"screenshots in {shots}")
        assert problems == []
