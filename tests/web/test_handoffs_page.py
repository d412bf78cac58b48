"""The coordinators' handoffs page: behind the login, reply and resolve from the browser, and
WCAG 2.2 AA (axe-core) at desktop and phone widths, by keyboard."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.base import Inbound
from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import Handoff, Message
from outreach.web.app import create_app
from tests.conftest import mobile
from tests.web.conftest import free_port, running
from tests.web.test_simulator import (
    PASSWORD,
    chromium,
    logged_in,
    needs_chromium,
    no_violations,
    tab_to,
)


@pytest.fixture
def site(settings: Settings, db: Database, clock: ManualClock) -> Iterator[tuple[str, Runtime]]:
    configured = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "secret_key": SecretStr("s" * 32)}
    )
    rt = Runtime.build(configured, clock=clock, db=db)
    rt.conversations.receive(Inbound("tel", mobile(5), "Can someone call me please?", "SM5"))
    rt.due.run()
    with running(create_app(rt), free_port()) as url:
        yield url, rt


def test_the_page_needs_a_login(site: tuple[str, Runtime]) -> None:
    url, _ = site
    for path in ("/handoffs", "/handoffs/1"):
        assert httpx.get(f"{url}{path}").headers["location"] == "/login"
    assert httpx.post(f"{url}/handoffs/1/resolve").headers["location"] == "/login"


def test_reply_and_resolve_from_the_page(site: tuple[str, Runtime], db: Database) -> None:
    url, _ = site
    with logged_in(url) as client:
        listed = client.get("/handoffs").text
        assert "#1" in listed and "They asked to talk to a person." in listed
        assert mobile(5) not in listed
        shown = client.get("/handoffs/1").text
        assert "Can someone call me please?" in shown
        empty = client.post("/handoffs/1/reply", data={"text": "  "})
        assert empty.status_code == 400 and "the reply is empty" in empty.text
        sent = client.post("/handoffs/1/reply", data={"text": "Hello, Jo here. Is 3pm OK?"})
        assert sent.status_code == 303
        assert "Your reply is on its way." in client.get(sent.headers["location"]).text
        assert client.post("/handoffs/1/resolve").status_code == 303
        assert "Nobody is waiting." in client.get("/handoffs").text
        assert client.get("/handoffs/99").status_code == 404
    with db.transaction() as tx:
        assert tx.scalar(select(Handoff.status)) == "closed"
        said = tx.scalars(select(Message.body).where(Message.direction == "out")).all()
    assert said[-1].startswith("Hello, Jo here. Is 3pm OK?")


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width,height", [(1280, 900), (375, 740)], ids=["desktop", "phone"])
def test_handoffs_page_by_keyboard_at_any_width(
    site: tuple[str, Runtime], width: int, height: int
) -> None:
    from playwright.sync_api import expect

    url, _ = site
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
        page.goto(f"{url}/handoffs")  # to the login first
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/simulator")  # where logging in leads
        page.goto(f"{url}/handoffs")
        expect(page.locator("h1")).to_have_text("Waiting for a person")
        no_violations(page)
        tab_to(page, "a[href='/handoffs/1']")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("Handoff #1")
        no_violations(page)
        tab_to(page, "#text")
        page.keyboard.type("Hello from the team")
        tab_to(page, "#send-reply")
        page.keyboard.press("Enter")
        expect(page.locator("[role=status]")).to_have_text("Your reply is on its way.")
        no_violations(page)
