"""Security headers: every page and webhook answer says what browsers may load, frame and send."""

from __future__ import annotations

import httpx

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from tests.web.conftest import Site, make_site


def test_pages_forbid_framing_sniffing_and_foreign_content(site: Site) -> None:
    for path in ("/login", "/healthz", "/static/style.css"):
        headers = httpx.get(f"{site.url}{path}").headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers  # plain http: HSTS means nothing


def test_behind_https_browsers_are_told_to_keep_to_it(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock
) -> None:
    with make_site(settings, db, fake, clock, public_url="https://outreach.example.org") as site:
        headers = httpx.get(f"{site.url}/login").headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
