"""The statements pages, used as a coordinator would: moderate what people sent, add a
statement, and read an event's common ground; behind the login, by keyboard, at desktop and
phone widths, checked by axe against WCAG 2.2 A and AA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from outreach.channels.base import Inbound
from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.services.statements import Statements
from outreach.settings import Settings
from outreach.store import opinions
from outreach.store.database import Database
from outreach.web.app import create_app
from tests.conftest import mobile
from tests.services.conftest import add_contact, add_event
from tests.web.conftest import free_port, running
from tests.web.test_simulator import (
    PASSWORD,
    chromium,
    logged_in,
    needs_chromium,
    no_violations,
    tab_to,
)

GROUPS = ("carer", "patient")


@pytest.fixture
def site(
    settings: Settings, db: Database, clock: ManualClock, t0: datetime
) -> Iterator[tuple[str, Runtime]]:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("q" * 32)}
    )
    rt = Runtime.build(configured, clock=clock, db=db)
    event = add_event(db, at=t0)
    desk = Statements(db, clock=clock)
    agreed = desk.add(event, "Evening appointments would help.", language="en", by="lead")
    split = desk.add(event, "Carers should be asked first.", language="en", by="lead")
    people = [
        (add_contact(db, 100 + n, at=t0, fields={"role": GROUPS[n % 2]}), GROUPS[n % 2])
        for n in range(20)
    ]
    with db.transaction() as tx:
        for cid, group in people:
            opinions.vote(tx.connection(), agreed, cid, "agree", t0)
            side = "agree" if group == "carer" else "disagree"
            opinions.vote(tx.connection(), split, cid, side, t0)
    # A person's own statement, sent by text in the middle of the flow.
    author = add_contact(db, 1, at=t0)
    rt.conversations.start(author, "common-ground", event_id=event)
    rt.conversations.receive(Inbound("tel", mobile(1), "NEW Parking is too dear", "SM1"))
    with running(create_app(rt), free_port()) as url:
        yield url, rt


def test_pages_send_a_stranger_to_the_login(site: tuple[str, Runtime]) -> None:
    url, _ = site
    for path in ("/statements", "/results/bc-march/statements"):
        assert httpx.get(f"{url}{path}").headers["location"] == "/login", path
    for path in ("/statements/3/approve", "/statements"):
        assert httpx.post(f"{url}{path}").headers["location"] == "/login", path


def test_moderate_and_add_from_the_page(site: tuple[str, Runtime]) -> None:
    url, _ = site
    with logged_in(url) as client:
        waiting = client.get("/statements").text
        assert "Parking is too dear" in waiting and "a person" in waiting
        assert "Evening appointments" not in waiting  # approved already: another tab
        approved = client.post("/statements/3/approve")
        assert approved.status_code == 303
        assert "Nothing is waiting for you." in client.get(approved.headers["location"]).text
        assert "Parking is too dear" in client.get("/statements?status=approved").text
        assert client.post("/statements/99/reject").status_code == 404
        added = client.post(
            "/statements", data={"conversation": "bc-march", "text": "Buses should run later."}
        )
        assert "Added" in client.get(added.headers["location"]).text
        bad = client.post("/statements", data={"conversation": "no spaces!", "text": "x"})
        assert "a conversation is an event id" in client.get(bad.headers["location"]).text
        assert client.get("/statements?status=everything").status_code == 422


def test_common_ground_page_lists_consensus_and_division(site: tuple[str, Runtime]) -> None:
    url, _ = site
    with logged_in(url) as client:
        page = client.get("/results/bc-march/statements").text
        consensus = page.split('id="consensus"')[1].split("</section>")[0]
        divisive = page.split('id="divisive"')[1].split("</section>")[0]
        assert "Evening appointments would help." in consensus
        assert "Carers should be asked first." in divisive
        assert "10 / 0 / 0 (92%)" in page
        wrong = client.get("/results/bc-march/statements", params={"groups": "tags:"})
        assert wrong.status_code == 400 and "name the tags" in wrong.text
        assert client.get("/results/nope/statements").status_code == 404


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_statements_pages_by_keyboard_at_any_width(
    site: tuple[str, Runtime], width: int, height: int
) -> None:
    from playwright.sync_api import expect

    url, _ = site
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        page.goto(f"{url}/statements")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/simulator")
        page.goto(f"{url}/statements")
        expect(page.locator("h1")).to_have_text("Statements")
        no_violations(page)
        tab_to(page, "#approve-3")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("[role=status]")).to_contain_text("Approved")
        no_violations(page)
        tab_to(page, "#conversation")
        page.keyboard.type("bc-march")
        tab_to(page, "#text")
        page.keyboard.type("The clinic should open on Saturdays.")
        tab_to(page, "#add-statement")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("[role=status]")).to_contain_text("Added")
        no_violations(page)

        page.goto(f"{url}/results/bc-march/statements")
        expect(page.locator("h1")).to_contain_text("Common ground")
        no_violations(page)
        tab_to(page, "#groups")
        page.keyboard.press("Control+A")
        page.keyboard.type("tags:carer,patient")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#groups")).to_have_value("tags:carer,patient")
        no_violations(page)
