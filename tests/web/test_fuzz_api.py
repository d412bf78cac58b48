"""Hostile input over every endpoint: schemathesis generates requests from the app's OpenAPI
schema (built for the tests; production serves none). Twilio's webhooks are signed as Twilio
signs them, so generated forms reach the channel that reads them; the coordinator's pages are
called logged in. Whatever comes, the answer is never a 5xx, and a refusal says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as examples
from pydantic import SecretStr
from schemathesis.generation.case import Case
from twilio.request_validator import RequestValidator

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.migrate import upgrade
from outreach.web.app import create_app
from tests.web.conftest import Site, make_site

PASSWORD = "correct horse battery staple"


@pytest.fixture
def fuzzed_site(
    settings: Settings, fake: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> Iterator[Site]:
    db = Database(f"sqlite:///{tmp_path / 'fuzzed.db'}")  # one backend: the budget is time
    upgrade(db)
    with (
        FakeSlack() as slack,
        make_site(
            settings,
            db,
            fake,
            clock,
            admin_password=SecretStr(PASSWORD),
            slack_bot_token=SecretStr(slack.bot_token),
            slack_signing_secret=SecretStr(slack.signing_secret),
            slack_api_url=slack.api_url,
        ) as site,
    ):
        yield site
    db.close()


@pytest.fixture
def logged_in(fuzzed_site: Site) -> dict[str, str]:
    with httpx.Client(base_url=fuzzed_site.url) as client:
        answer = client.post("/login", data={"password": PASSWORD})
        assert answer.status_code in (200, 303), answer.text
        return dict(client.cookies)


def _app_schema() -> dict[str, Any]:
    """The schema of the app's routes (which do not depend on its settings or store)."""
    settings = Settings(database_url="sqlite://", spool_dir=Path("unused"), _env_file=None)
    return create_app(Runtime.build(settings, db=Database("sqlite://"))).openapi()


schema = schemathesis.openapi.from_dict(_app_schema())


@schema.parametrize()
@examples(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_gets_a_server_error(
    case: Case, fuzzed_site: Site, logged_in: dict[str, str]
) -> None:
    headers = {}
    if case.path.startswith("/twilio/") and isinstance(case.body, dict):
        url = f"{fuzzed_site.public_url}{case.formatted_path}"
        form = {str(k): str(v) for k, v in case.body.items()}
        headers["X-Twilio-Signature"] = RequestValidator(
            fuzzed_site.fake.auth_token
        ).compute_signature(url, form)
    answer = case.call(base_url=fuzzed_site.url, headers=headers, cookies=logged_in, timeout=30)
    assert answer.status_code < 500, f"{case.method} {case.formatted_path}: {answer.text[:300]}"
    if answer.status_code >= 400:
        assert answer.text.strip(), "a refusal without a reason"
