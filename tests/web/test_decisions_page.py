"""You said, we did from the coordinators' page: a decision written in the browser is
previewed, sent over (fake) Twilio to exactly the people who answered its question, each in
their language, once; the follow-up replies come back by SMS and show on the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from tests.conftest import mobile
from tests.services.conftest import Phone, add_contact, add_event, answered
from tests.web.conftest import Site, make_site
from tests.web.test_simulator import (
    PASSWORD,
    artifacts,
    chromium,
    needs_chromium,
    no_violations,
    tab_to,
)

ENGLISH = "You said evenings were easier. The drop-in now opens Tuesday evenings."
WELSH = "Dywedoch fod gyda'r nos yn haws. Mae'r sesiwn bellach ar agor nos Fawrth."
QUESTION = "post-event-survey:change"


@pytest.fixture
def site(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock, t0: datetime
) -> Iterator[Site]:
    add_event(db, at=t0)
    people = {1: "en", 2: "cy", 3: "pl", 4: "en", 5: "en", 6: "en"}
    for n, language in people.items():
        cid = add_contact(db, n, at=t0, language=language)
        if n <= 4:
            answered(db, cid, "change", at=t0, event="bc-march")
        elif n == 5:
            answered(db, cid, "rating", at=t0, event="bc-march")  # another question
    extra = {"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("d" * 32)}
    with make_site(settings, db, fake, clock, **extra) as running_site:
        Phone(running_site.runtime.conversations, 4).text("STOP")
        yield running_site


def form(**changes: object) -> dict[str, object]:
    return {
        "decision": "evening-opening",
        "title": "Tuesday evening opening",
        "text-en": ENGLISH,
        "text-cy": WELSH,
        "question": [QUESTION],
        "follow_up": "true",
        **changes,
    }


def test_a_decision_from_the_page_reaches_its_contributors_once_and_their_replies_show(
    site: Site,
) -> None:
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        page = client.get("/decisions").text
        assert QUESTION in page and 'id="text-cy"' in page and 'id="text-pl"' in page
        preview = client.post("/decisions", data={**form(), "action": "preview"}).text
        assert "2 people will be told" in preview
        assert "opted out: 1" in preview and "no text in Polish (pl): 1" in preview
        sent = client.post("/decisions", data={**form(), "action": "send"}).text
        assert "Sent to 2 people" in sent
        again = client.post("/decisions", data={**form(), "action": "send"}).text
        assert "Sent to 0 people" in again  # a resubmitted form tells nobody twice
    site.runtime.dispatcher.flush()
    bodies = {n: [m["body"] for m in site.fake.sent_to(mobile(n))] for n in range(1, 7)}
    assert bodies[1][0].startswith(ENGLISH) and bodies[1][1].startswith("Does this feel right")
    assert bodies[2][0].startswith(WELSH) and bodies[2][1].startswith("Ydy hyn yn teimlo")
    assert bodies[3] == bodies[5] == bodies[6] == []
    assert all(ENGLISH not in b for b in bodies[4])  # only the STOP receipt
    assert site.text_in(mobile(1), "3", sid="SMreply1").status_code == 200  # partly
    assert site.text_in(mobile(2), "ie", sid="SMreply2").status_code == 200  # yes, in Welsh
    with httpx.Client(base_url=site.url) as client:
        client.post("/login", data={"password": PASSWORD})
        record = client.get("/decisions").text
    assert "Tuesday evening opening" in record and "Does it feel right?" in record
    assert '<th scope="col">Partly</th>' in record and '<th scope="col">Yes</th>' in record


def test_a_decision_needs_a_login_a_question_that_exists_and_sane_text(site: Site) -> None:
    assert httpx.post(f"{site.url}/decisions", data=form()).status_code == 303
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        unknown = client.post("/decisions", data=form(question=["post-event-survey:nope"]))
        assert unknown.status_code == 422 and "there is no question" in unknown.text
        none = client.post("/decisions", data=form(question=[]))
        assert none.status_code == 422 and "say which questions it answers" in none.text
        bad_id = client.post("/decisions", data=form(decision="<script>"))
        assert bad_id.status_code == 422 and "&lt;script&gt;" not in bad_id.text.split("<form")[0]
        long = client.post("/decisions", data=form(**{"text-en": "x" * 1500}))
        assert long.status_code == 422 and "over 1000" in long.text


def test_each_question_is_offered_in_the_words_people_were_asked(site: Site) -> None:
    # A coordinator recognises "What one thing should we change next time?", not an id.
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        page = client.get("/decisions").text
    change = page.split(f'value="{QUESTION}"', 1)[1].split("</div>", 1)[0]
    assert "What one thing should we change next time? Reply in your own words." in change
    language = page.split('value="choose-language:language"', 1)[1].split("</div>", 1)[0]
    assert "Which language would you like our messages in?" in language


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_decisions_page_by_keyboard(site: Site, width: int, height: int) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{site.url}/decisions")
        expect(page.locator("#password")).to_be_focused()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/simulator")
        page.goto(f"{site.url}/decisions")
        no_violations(page)
        tab_to(page, "#decision")
        page.keyboard.type("evening-opening")
        tab_to(page, "#title")
        page.keyboard.type("Tuesday evening opening")
        tab_to(page, "#text-en")
        page.keyboard.type(ENGLISH)
        checkbox = page.locator(f"input[value='{QUESTION}']")
        tab_to(page, f"input[value='{QUESTION}']")
        page.keyboard.press("Space")
        expect(checkbox).to_be_checked()
        tab_to(page, "button[value=preview]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#preview-title")).to_have_text("Preview: 1 person will be told")
        expect(page.locator("#preview")).to_contain_text("no text in Welsh (cy): 1")
        no_violations(page)
        tab_to(page, "#send-now")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#sent")).to_contain_text("Sent to 1 person")
        no_violations(page)
        page.screenshot(path=str(artifacts() / f"decisions-{width}.png"), full_page=True)
        assert problems == []
