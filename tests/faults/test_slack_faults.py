"""Slack misbehaves while messages go to ten people there: rate limits with Retry-After, a
server error, an error that will not pass. Every message is accounted for, none posted twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from pydantic import SecretStr

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from tests.faults.accounting import account
from tests.web.conftest import make_site
from tests.web.test_slack import slack_person

PEOPLE = [f"U0FAULT{n:04d}" for n in range(10)]


def test_every_slack_message_is_accounted_for_through_slack_faults(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock
) -> None:
    with (
        FakeSlack() as slack,
        make_site(
            settings,
            db,
            fake,
            clock,
            slack_bot_token=SecretStr(slack.bot_token),
            slack_signing_secret=SecretStr(slack.signing_secret),
            slack_api_url=slack.api_url,
        ) as site,
    ):
        for user in PEOPLE:
            slack.add_user(user, "Siân")
            site.runtime.conversations.start(slack_person(db, clock, user), "join")
        slack.rate_limit_next("chat.postMessage", 3, retry_after=30)
        slack.fail_next("chat.postMessage", 2, status=500, error="internal_error")
        for _ in range(8):
            site.runtime.dispatcher.flush()
            clock.advance(timedelta(minutes=5))
        statuses = Counter(call.status for call in slack.calls_to("chat.postMessage"))

    assert statuses[429] == 3 and statuses[500] == 2
    for user in PEOPLE:
        assert len(slack.dm(user)) == 1, f"{user} got {len(slack.dm(user))} messages"
    result = account(db, acknowledged=[])
    result.assert_whole()
    assert result.outgoing == Counter({"delivered": len(PEOPLE)})
