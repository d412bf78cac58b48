"""Partners' digests through the real slack_sdk client to the fake Slack: once per period
however many workers run, within Slack's limits with a text fallback, the preview is what is
posted, aggregate only (quotes from people who agreed, small groups as "<5"), and a 429 is
waited out with nothing lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from outreach.channels.base import Inbound
from outreach.channels.fake_slack import FakeSlack
from outreach.clock import ManualClock
from outreach.partners.digests import Digest, Section
from outreach.scheduling.periodic import PeriodicJob
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store import contacts
from outreach.store.database import Database
from tests.conftest import mobile
from tests.services.conftest import add_contact, add_event
from tests.test_cli import invoke

DIGESTS = "C0DIGESTMIND"  # the shipped partner's digest channel
PARTNER = "worcester-mind"
EVENT = "mental-health-2027-01"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(DIGESTS)
        fake.add_channel("C0HANDOFFMIND")
        yield fake


@pytest.fixture
def slack_settings(settings: Settings, db: Database, slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "database_url": db.url,
            "slack_bot_token": SecretStr(slack.bot_token),
            "slack_signing_secret": SecretStr(slack.signing_secret),
            "slack_api_url": slack.api_url,
        }
    )


@pytest.fixture
def rt(slack_settings: Settings, db: Database, clock: ManualClock) -> Iterator[Runtime]:
    runtime = Runtime.build(slack_settings, clock=clock, db=db)
    yield runtime


def digest_job(rt: Runtime) -> PeriodicJob:
    return next(j for j in rt.jobs if j.name == f"digest:{PARTNER}")


def reply(rt: Runtime, n: int, text: str) -> None:
    rt.conversations.receive(Inbound("tel", mobile(n), text, f"SM{n}-{text}"))


def seed_week(rt: Runtime, db: Database, clock: ManualClock) -> None:
    """Last week: six people invited to the followed event; four answer."""
    clock.advance(timedelta(days=-3))
    add_event(db, at=clock.now, event_id=EVENT)
    for n in range(6):
        fields = {"agreed_to_quote": n == 0}
        cid = add_contact(db, n, at=clock.now, first_name=f"P{n}", fields=fields)
        with db.transaction() as tx:
            contacts.update_contact(tx.connection(), cid, {"age_band": "25-34" if n else "65+"})
        rt.conversations.start(cid, "big-conversation-invite", event_id=EVENT)
    reply(rt, 0, "1")
    reply(rt, 0, "I use a wheelchair and need step-free access")
    reply(rt, 1, "1")
    reply(rt, 1, "I'd like a quiet space")  # not agreed to be quoted
    reply(rt, 2, "2")
    reply(rt, 3, "3")
    rt.due.run()  # what is due now (the handoff of a reply not understood)
    clock.advance(timedelta(days=3))


def posted(slack: FakeSlack) -> list[dict[str, Any]]:
    calls = slack.calls_to("chat.postMessage")
    return [c.params for c in calls if c.status == 200 and c.params["channel"] == DIGESTS]


def test_three_workers_post_the_digest_once_per_period(
    rt: Runtime, slack_settings: Settings, db: Database, slack: FakeSlack, clock: ManualClock
) -> None:
    seed_week(rt, db, clock)
    workers = [rt] + [Runtime.build(slack_settings, clock=clock, db=db) for _ in range(2)]
    start = threading.Barrier(3)

    def tick(worker: Runtime) -> None:
        start.wait()
        worker.periodic.run_job(digest_job(worker))
        worker.due.run()

    threads = [threading.Thread(target=tick, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for worker in workers:  # and again later in the same period: nothing more
        worker.periodic.run_job(digest_job(worker))
        worker.due.run()
    [message] = posted(slack)
    assert message["channel"] == DIGESTS
    text = message["text"]
    assert text.startswith("Digest for Worcester Mind: 23 Feb 2026 09:00 to 02 Mar 2026 09:00")
    assert "yes 2, maybe 1, no 1, waiting list 0" in text
    assert "2 told us something would help them take part" in text
    assert "Yes, I'll come  ██████████ 2" in text and "Maybe  █████ 1" in text
    assert "I use a wheelchair and need step-free access" in text  # agreed to be quoted
    assert "quiet space" not in text  # did not
    assert "age band: 25-34 5, 65+ &lt;5" in text  # reach, small groups hidden (escaped)
    blocks = message["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b)

    rt.team.resolve(1, by="coordinator")  # nobody waits any more
    clock.advance(timedelta(days=14))  # two Mondays on: the event is over, nothing new
    rt.periodic.run_job(digest_job(rt))
    rt.due.run()
    assert len(posted(slack)) == 2
    assert posted(slack)[1]["text"].startswith("Nothing new for Worcester Mind between")
    assert len(posted(slack)[1]["text"].splitlines()) == 1


def test_preview_is_what_is_posted(
    rt: Runtime, slack_settings: Settings, db: Database, slack: FakeSlack, clock: ManualClock
) -> None:
    seed_week(rt, db, clock)
    until = ("--until", "2026-03-02T09:00")
    code, out, _ = invoke(slack_settings, "digests", "preview", PARTNER, *until)
    assert code == 0 and not posted(slack)  # nothing posted
    text, _, shown = out.partition("\n\n[")
    assert text.startswith("Digest for Worcester Mind: 23 Feb 2026 09:00 to 02 Mar 2026 09:00")
    code, out, _ = invoke(slack_settings, "digests", "send", PARTNER, *until)
    assert code == 0 and "(1 message(s))" in out
    as_posted = [{"text": m["text"], "blocks": m["blocks"]} for m in posted(slack)]
    assert json.loads("[" + shown) == as_posted


def test_a_long_digest_is_split_across_messages_within_slack_limits() -> None:
    lines = tuple(f"answer number {n} " + "x" * 200 for n in range(400))
    digest = Digest("p", "C0X1234567", "A title", tuple(Section(f"S{i}", lines) for i in range(3)))
    messages = digest.messages()
    assert len(messages) > 1
    for message in messages:
        assert len(message["blocks"]) <= 50 and message["text"]
        assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if "text" in b)
    shown = "".join(b["text"]["text"] for m in messages for b in m["blocks"] if "text" in b)
    assert "answer number 399" in shown  # nothing dropped


def test_a_rate_limited_digest_is_posted_once_after_the_wait(
    rt: Runtime, db: Database, slack: FakeSlack, clock: ManualClock
) -> None:
    seed_week(rt, db, clock)
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    rt.periodic.run_job(digest_job(rt))
    rt.due.run()
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls if c.params["channel"] == DIGESTS] == [429, 200]


def test_an_unknown_partner_is_one_line(slack_settings: Settings, rt: Runtime) -> None:
    code, _, err = invoke(slack_settings, "digests", "preview", "nobody")
    assert code == 1 and "there is no partner 'nobody'" in err
    assert len(err.strip().splitlines()) == 1
