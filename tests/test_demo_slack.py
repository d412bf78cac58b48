"""``outreach demo`` shows a Slack person beside the SMS ones: her invitation arrives as a DM
with buttons in the made-up Slack workspace, and pressing one goes through the Slack app."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.test_demo import demo
from tests.web.test_simulator import CHROMIUM, chromium, no_violations


def dm_of(browser: httpx.Client, user: str) -> list[dict[str, Any]]:
    answer = browser.get(f"/simulator/api/slack/people/{user}")
    assert answer.status_code == 200
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


def until(browser: httpx.Client, user: str, done: Any, seconds: float = 30) -> list[Any]:
    deadline = time.monotonic() + seconds
    while not done(messages := dm_of(browser, user)):
        assert time.monotonic() < deadline, f"the DM did not change as expected: {messages}"
        time.sleep(0.3)
    return messages


def answers(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["text"]["text"], e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_demo_shows_a_slack_person_with_working_buttons(tmp_path: Path) -> None:
    with demo(tmp_path) as run:
        browser = run.browser
        people = browser.get("/simulator/api/slack/people").json()
        assert [p["name"] for p in people] == ["Priya"]
        sms_people = {p["first_name"] for p in browser.get("/simulator/api/contacts").json()}
        assert {"Amina", "Bronwen", "Marek"} <= sms_people  # beside the SMS ones
        priya = people[0]["id"]
        page = browser.get("/simulator").text
        assert 'id="slack"' in page and "slack_dm.js" in page

        [news, invitation] = until(browser, priya, lambda m: len(m) == 2)
        assert news["from"] == invitation["from"] == "app"
        assert news["text"].startswith("Hi Priya, you're invited")
        assert ("Yes, I'll come", "yes") in answers(invitation)  # the question, with buttons

        api = f"/simulator/api/slack/people/{priya}"
        pressed = browser.post(f"{api}/press", json={"ts": invitation["ts"], "value": "yes"})
        assert pressed.json() == {"status": 200}
        messages = until(browser, priya, lambda m: len(m) >= 3 and m[1]["edited"])
        assert answers(messages[1]) == []  # answered: no buttons left
        assert messages[2]["text"].startswith("Great! Would anything help you")

        typed = browser.post(f"{api}/say", json={"text": "none"})
        assert typed.json() == {"status": 200}
        until(browser, priya, lambda m: len(m) >= 5 and m[-1]["from"] == "app")


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
def test_slack_view_in_a_browser_by_keyboard_at_desktop_and_phone_widths(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with demo(tmp_path) as run, chromium() as browser:
        client = run.browser
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{client.base_url}/login")
        page.fill("#password", "correct horse battery staple")
        page.click("button[type=submit]")
        dm = page.locator("#slack-messages")
        expect(dm).to_contain_text("Hi Priya, you're invited", timeout=20_000)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(artifacts / f"slack-dm-{width}.png"), full_page=True)
            no_violations(page)
        yes = page.get_by_role("button", name="Yes, I'll come")
        expect(yes).to_be_visible(timeout=20_000)
        yes.focus()
        page.keyboard.press("Enter")
        expect(dm).to_contain_text("You answered: Yes, I'll come", timeout=20_000)
        expect(page.get_by_role("button", name="Yes, I'll come")).to_have_count(0)
        expect(dm).to_contain_text("Great! Would anything help you", timeout=20_000)
        page.fill("#slack-text", "none")
        page.keyboard.press("Enter")
        expect(dm).to_contain_text("none")
