"""A one-off message to a tag, sent from the coordinators' page: previewed in each language
with its cost, then delivered through the outbox to exactly the opted-in people with the tag,
each in their own language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store import consent, contacts
from outreach.store.database import Database
from tests.conftest import mobile
from tests.services.conftest import add_contact
from tests.web.conftest import Site, make_site
from tests.web.test_simulator import (
    PASSWORD,
    artifacts,
    chromium,
    needs_chromium,
    no_violations,
    tab_to,
)

TEXTS = {
    "en": "Coffee morning on Friday at 10, all welcome.",
    "cy": "Bore coffi ddydd Gwener am 10, croeso i bawb.",
    "pl": "Poranek kawowy w piątek o 10, wszyscy mile widziani.",
}


@pytest.fixture
def site(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock, t0: datetime
) -> Iterator[Site]:
    people = {
        1: ("en", ["carers"]),
        2: ("cy", ["carers"]),
        3: ("pl", ["carers", "youth"]),
        4: ("en", ["carers"]),  # opts out below
        5: ("en", ["youth"]),  # not a carer
        6: ("ro", ["carers"]),  # no Romanian text: not sent English instead
    }
    for n, (language, tags) in people.items():
        cid = add_contact(db, n, at=t0, language=language, first_name=f"P{n}")
        with db.transaction() as tx:
            contacts.add_tags(tx.connection(), cid, tags)
            if n == 4:
                consent.record(
                    tx.connection(),
                    cid,
                    "opted_out",
                    source="keyword",
                    words="STOP",
                    at=t0,
                    opted_out=False,  # their state until now
                )
    extra = {"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("o" * 32)}
    with make_site(settings, db, fake, clock, **extra) as running_site:
        yield running_site


def form(**texts: str) -> dict[str, str]:
    return {"kind": "tag", "name": "carers", **{f"text-{k}": v for k, v in texts.items()}}


def test_a_message_to_a_tag_reaches_exactly_the_opted_in_in_their_language(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        preview = client.post("/send", data={**form(**TEXTS), "action": "preview"})
        assert preview.status_code == 200
        page = preview.text
        assert "3 people will get it" in page
        assert "opted out: 1" in page and "no text in their language: 1" in page
        assert TEXTS["cy"] in page and "0.12 GBP" in page  # 3 people, one segment each
        key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
        send = {**form(**TEXTS), "action": "send", "key": key}
        sent = client.post("/send", data=send)
        assert "Queued 3 messages" in sent.text
        again = client.post("/send", data=send)  # a second click, a resubmitted form
        assert "Queued 0 messages" in again.text
    site.runtime.dispatcher.flush()
    bodies = {n: [m["body"] for m in site.fake.sent_to(mobile(n))] for n in range(1, 7)}
    assert [b.split("\n")[0] for b in bodies[1]] == [TEXTS["en"]]
    assert [b.split("\n")[0] for b in bodies[2]] == [TEXTS["cy"]]
    assert [b.split("\n")[0] for b in bodies[3]] == [TEXTS["pl"]]
    assert bodies[4] == bodies[5] == bodies[6] == []


def test_the_catalogs_translation_is_offered_for_each_language(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        page = client.post("/send", data={**form(en="Tell me more"), "action": "preview"}).text
    assert ">Dywedwch fwy</textarea>" in page  # Welsh, from the catalog
    assert ">Chcę wiedzieć więcej</textarea>" in page


def test_sending_needs_a_login_and_a_sane_audience(site: Site) -> None:
    assert httpx.post(f"{site.url}/send", data=form(**TEXTS)).status_code == 303
    with httpx.Client(base_url=site.url) as client:
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        bad = client.post("/send", data={**form(**TEXTS), "name": "<script>"})
        assert bad.status_code == 422
        long = client.post("/send", data={**form(en="x" * 2000), "action": "preview"})
        assert long.status_code == 422 and "longer than 1000" in long.text


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_send_page_by_keyboard(site: Site, width: int, height: int) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{site.url}/send")
        expect(page.locator("#password")).to_be_focused()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/simulator")
        page.goto(f"{site.url}/send")
        no_violations(page)
        tab_to(page, "#name")
        page.keyboard.type("carers")
        tab_to(page, "#text-en")
        page.keyboard.type(TEXTS["en"])
        tab_to(page, "button[value=preview]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#preview-title")).to_have_text("Preview: 1 person will get it")
        expect(page.locator("#preview")).to_contain_text("no text in their language: 3")
        no_violations(page)
        page.screenshot(path=str(artifacts() / f"send-{width}.png"), full_page=True)
        assert problems == []
