"""The event's results as a document for a board: one HTML file (its stylesheet inside, its
charts drawn as SVG, nothing fetched) and, from it, a PDF printed by headless Chromium.

Chromium is Debian's (``OUTREACH_CHROMIUM``, default ``/usr/bin/chromium``), driven by
Playwright; every request the page makes is refused, so a report renders with no network
and cannot leak what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from outreach.services.decisions import DecisionResults
from outreach.services.results import STATUSES, EventResults, Quote
from outreach.services.statements import CommonGround
from outreach.web.pages import templates

STYLES = Path(__file__).parent / "static"
CHROMIUM = Path("/usr/bin/chromium")


def local_time(zone: str) -> Callable[[datetime], str]:
    """A filter for templates: a time as read where the event happens."""

    def show(at: datetime) -> str:
        return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M")

    return show


def html(
    results: EventResults,
    quotes: list[Quote],
    *,
    now: datetime,
    decisions: list[DecisionResults] | None = None,
    common_ground: CommonGround | None = None,
) -> str:
    """The report as one self-contained HTML document, with the common ground between groups
    (where people voted on statements) and the decisions that answer the event's questions
    ("you said, we did")."""
    css = (STYLES / "style.css").read_text() + (STYLES / "results.css").read_text()
    return templates.env.get_template("results/document.html").render(
        r=results,
        quotes=quotes,
        statuses=STATUSES,
        css=css,
        now=now,
        local=local_time(results.timezone),
        answers_link=None,
        decisions=decisions or [],
        found=common_ground if common_ground and common_ground.statements else None,
    )


def pdf(document: str, *, chromium: Path = CHROMIUM) -> bytes:
    """``document`` printed to A4 by headless Chromium, with the network cut off."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
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
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())  # nothing leaves the machine
            page.set_content(document, wait_until="load")
            page.emulate_media(media="print")
            return page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
            )
        finally:
            browser.close()
