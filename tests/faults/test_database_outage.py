"""The database goes away under a web process: inbound texts are spooled to local disk and
acknowledged, /readyz says degraded, and once the database is back they are replayed in the
order they came, each once, even by a process started after the one that spooled them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.models import ContactAddress, Message
from tests.conftest import mobile
from tests.faults.accounting import account
from tests.faults.proxy import CuttableProxy
from tests.services.conftest import add_event
from tests.web.conftest import Site, make_site
from tests.web.test_slack import PERSON, eventually, rsvp_of, slack_person

PEOPLE = [mobile(70 + n) for n in range(3)]


@pytest.fixture
def proxy(db: Database) -> Iterator[CuttableProxy]:
    where = urlsplit(db.url)
    with CuttableProxy((where.hostname or "127.0.0.1", where.port or 5432)) as running:
        yield running


@pytest.fixture
def proxied(db: Database, proxy: CuttableProxy) -> Iterator[Database]:
    where = urlsplit(db.url)
    through = Database(db.url.replace(where.netloc, f"{where.username}@127.0.0.1:{proxy.port}"))
    yield through
    through.close()


def ready(site: Site) -> dict[str, object]:
    answer = httpx.get(f"{site.url}/readyz", timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def wait_until_ready(site: Site, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while ready(site)["status"] != "ready":
        assert time.monotonic() < deadline, f"still {ready(site)}"
        time.sleep(0.2)


def inbound_in_order(db: Database) -> dict[str, list[str]]:
    with db.transaction() as tx:
        rows = tx.execute(
            select(ContactAddress.address, Message.provider_id)
            .join(ContactAddress, Message.address_id == ContactAddress.id)
            .where(Message.direction == "in")
            .order_by(Message.id)
        ).all()
    found: dict[str, list[str]] = {}
    for address, sid in rows:
        found.setdefault(address, []).append(sid)
    return found


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_texts_during_an_outage_are_spooled_acknowledged_and_replayed_in_order_once(
    settings: Settings,
    db: Database,
    proxied: Database,
    proxy: CuttableProxy,
    fake: FakeTwilio,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    sent: dict[str, list[str]] = {number: [] for number in PEOPLE}
    acknowledged: list[str] = []

    def text_in(site: Site, number: str, body: str) -> None:
        sid = f"SM{len(acknowledged):032d}"
        answer = site.text_in(number, body, sid=sid)
        assert answer.status_code == 200, answer.text
        acknowledged.append(sid)
        sent[number].append(sid)

    with make_site(settings, proxied, fake, clock) as site:
        for number in PEOPLE:
            text_in(site, number, "hello")
        assert ready(site) == {"status": "ready"}

        proxy.cut()
        for n in range(12):
            text_in(site, PEOPLE[n % 3], f"while away {n}")
        again = site.text_in(PEOPLE[0], "while away 0", sid=sent[PEOPLE[0]][1])  # a retry
        assert again.status_code == 200
        assert ready(site) == {"status": "degraded", "database": "unreachable", "spooled": 13}
        spool = Path(settings.spool_dir)
        assert oct(spool.stat().st_mode & 0o777) == "0o700"

    # The process that spooled them is gone; the database comes back; a new one replays.
    proxy.restore()
    with make_site(settings, proxied, fake, clock) as site:
        text_in(site, PEOPLE[1], "after")  # joins the queue behind what waits
        wait_until_ready(site)
        for n in range(3):
            text_in(site, PEOPLE[2], f"later {n}")

    assert inbound_in_order(db) == sent, "a person's texts were stored out of order"
    assert list(spool.glob("failed-*")) == []
    account(db, acknowledged=acknowledged).assert_whole()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_slack_replies_during_an_outage_are_spooled_and_replayed_once(
    settings: Settings,
    db: Database,
    proxied: Database,
    proxy: CuttableProxy,
    fake: FakeTwilio,
    clock: ManualClock,
) -> None:
    # Slack hears "ok" before the app does the work, and never sends it again: a typed
    # reply and a button pressed while the database is away must wait on disk.
    with FakeSlack() as slack:
        slack.add_user(PERSON, "Siân")
        person = slack_person(db, clock)
        event = add_event(db, at=clock())
        slack_settings = {
            "slack_bot_token": SecretStr(slack.bot_token),
            "slack_signing_secret": SecretStr(slack.signing_secret),
            "slack_api_url": slack.api_url,
        }
        with make_site(settings, proxied, fake, clock, **slack_settings) as site:
            slack.events_url = f"{site.url}/slack/events"
            site.runtime.conversations.start(person, "big-conversation-invite", event_id=event)
            assert str(site.runtime.dispatcher.flush()) == "2 sent"
            invitation = slack.dm(PERSON)[1]

            proxy.cut()
            assert slack.press(PERSON, invitation["ts"], "yes") == 200
            eventually(lambda: ready(site).get("spooled") == 1, 30)  # in order, one by one
            assert slack.say(PERSON, "step-free access please") == 200
            eventually(lambda: ready(site).get("spooled") == 2, 30)
            assert ready(site)["status"] == "degraded"
            assert rsvp_of(db, person) is None  # nothing reached the store

            proxy.restore()
            wait_until_ready(site)
            assert rsvp_of(db, person) == "yes"
            with db.transaction() as tx:
                said = tx.scalars(
                    select(Message.body).where(Message.direction == "in").order_by(Message.id)
                ).all()
            assert said == ["Yes, I'll come", "step-free access please"]
    assert list(Path(settings.spool_dir).glob("failed-*")) == []
