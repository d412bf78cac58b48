"""Security headers: every page and webhook answer says what browsers may load, frame and send."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from tests.web.conftest import Site, make_site

PASSWORD = "correct horse battery staple"


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


def test_a_page_from_another_origin_cannot_act_for_a_coordinator(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock
) -> None:
    # SameSite=Strict would send the cookie from a sibling subdomain (same site, another
    # origin): the browser's own Sec-Fetch-Site, or Origin from an older one, says so.
    configured = settings.model_copy(update={"admin_password": SecretStr(PASSWORD)})
    with (
        make_site(configured, db, fake, clock, public_url="https://outreach.example.org") as site,
        httpx.Client(base_url=site.url) as browser,
    ):
        login = {"password": PASSWORD}
        elsewhere = [
            {"Sec-Fetch-Site": "same-site"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "https://other.example.org"},
            {"Origin": "null"},
        ]
        for headers in elsewhere:
            refused = browser.post("/login", data=login, headers=headers)
            assert refused.status_code == 403, headers
            assert "another site" in refused.text
            assert refused.headers["x-frame-options"] == "DENY"
            assert "outreach_session" not in browser.cookies  # nothing was done
        # The coordinator's own pages: the browser says same-origin, or an older one sends
        # the site's own origin (as served here, or as the public address behind a proxy).
        for headers in (
            {"Sec-Fetch-Site": "same-origin"},
            {"Origin": site.url},
            {"Origin": "https://outreach.example.org"},
        ):
            browser.cookies.clear()
            assert browser.post("/login", data=login, headers=headers).status_code == 303
            assert "outreach_session" in browser.cookies
        assert browser.get("/login", headers={"Sec-Fetch-Site": "cross-site"}).is_success
