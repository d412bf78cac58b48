"""``outreach demo``: the whole system with made-up people, on a database of its own.

The demo starts afresh each time: a Big Conversation a day away and three made-up people,
invited as soon as the worker runs, and a made-up Slack workspace with one more person, who
gets the invitation as a Slack DM with buttons. Before it touches anything it claims its
database file (a lock beside it) and its port, so a second demo started by mistake stops with
a message instead of moving the first one's event and texting everyone that it moved. It only
ever wipes a database it made itself, which it marks in SQLite's header (``application_id``).
"""

from __future__ import annotations

import contextlib
import errno
import secrets
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from filelock import FileLock, Timeout
from pydantic import SecretStr
from sqlalchemy import select

from outreach.channels.fake_slack import FakeSlack
from outreach.contacts.addresses import SLACK
from outreach.errors import DemoRefused
from outreach.events.library import load_event_text
from outreach.services import simulator
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store import contacts
from outreach.store.models import ContactTag

DEMO_EVENT = "demo-big-conversation"
DEMO_TAG = "demo"
# "OUTR" in the SQLite header's application_id: this file is a demo database, safe to wipe.
DEMO_APPLICATION_ID = 0x4F555452
PEOPLE = [
    ("07400 123456", "Amina", "en"),
    ("07400 123457", "Bronwen", "cy"),
    ("07400 123458", "Marek", "pl"),
]
SLACK_PEOPLE = [("U0DEMOPRIYA", "Priya", "en")]  # in the made-up Slack workspace
# Every text a person reads is given in each demo person's language: a Welsh invitation
# carries no English sentence.
EVENT = """\
version: 1
event: {id}
title: "Big Conversation: mental health support in Worcester"
topic:
  en: mental health support in the community
  cy: cymorth iechyd meddwl yn y gymuned
  pl: wsparciu zdrowia psychicznego w społeczności
starts_at: {starts:%Y-%m-%d %H:%M}
ends_at: {ends:%Y-%m-%d %H:%M}
timezone: Europe/London
venue:
  name:
    en: Riverside Community Centre
    cy: Canolfan Gymuned Glan yr Afon
    pl: Riverside Community Centre
  address: 12 High Street, Worcester WR1 2AB
  access:
    en: step-free entrance, hearing loop and a quiet room
    cy: mynedfa heb risiau, dolen sain ac ystafell dawel
    pl: wejście bez schodów, pętla indukcyjna i ciche pomieszczenie
capacity: 60
paid:
  travel: true
  time: true
  how:
    en: £20 for your time
    cy: £20 am eich amser
    pl: 20 £ za poświęcony czas
audience: {{tags: [{tag}]}}
reminders:
  - {{at: -1d, flow: event-reminder}}
  - {{at: -2h, flow: event-reminder-soon, to: "yes"}}
follow_up: {{at: +1d, flow: post-event-survey, to: "yes"}}
"""


@dataclass(frozen=True)
class Claim:
    """What a running demo holds: its database (by a lock) and its listening socket."""

    database: Path
    listener: socket.socket

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


@contextlib.contextmanager
def claim(database: Path, host: str, port: int) -> Iterator[Claim]:
    """Hold the demo's database and port for as long as it runs; refuse, changing nothing,
    when another demo holds either."""
    database = database.resolve()
    lock = FileLock(f"{database}.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DemoRefused(
            f"another outreach demo is running on {database}: stop it (Ctrl+C in its "
            "terminal), or give this one a database of its own with --database"
        ) from None
    try:
        listener = _listen(host, port)
        with listener:
            yield Claim(database, listener)
    finally:
        lock.release()


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        busy = exc.errno == errno.EADDRINUSE
        raise DemoRefused(
            f"port {port} on {host} is in use (another outreach demo?): stop it, or choose "
            "another port with --port"
            if busy
            else f"cannot listen on {host} port {port} ({exc.strerror or exc}): choose "
            "another --host or --port"
        ) from None


def folders(settings: Settings) -> dict[str, Path]:
    """The flows and catalogs the demo runs on: the configured folders, or, where they are
    not found (the demo started outside the checkout), the checkout's own, which an editable
    install leaves beside the package."""
    checkout = Path(__file__).resolve().parents[2]
    return {
        name: checkout / configured
        for name in ("flows_dir", "locales_dir")
        if not (configured := getattr(settings, name)).is_dir()
        and not configured.is_absolute()
        and (checkout / configured).is_dir()
    }


def start_afresh(claimed: Claim) -> None:
    """Remove the last run's database (only ever a demo's) and mark a new, empty one."""
    path = claimed.database
    if path.exists() and path.stat().st_size and not is_demo_database(path):
        raise DemoRefused(
            f"{path} is not a demo database, and the demo starts afresh each time: give "
            "it a file of its own with --database"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # The mark goes in before anything else, so a demo stopped at any point leaves a file
    # the next one knows it may wipe.
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        connection.commit()


def is_demo_database(path: Path) -> bool:
    """True for an SQLite file the demo made (read from the header, never opened)."""
    with path.open("rb") as fh:
        header = fh.read(100)
    return (
        header[:16] == b"SQLite format 3\x00"
        and int.from_bytes(header[68:72], "big") == DEMO_APPLICATION_ID
    )


def seed(rt: Runtime) -> None:
    """The demo event (starting a day and three hours from now, so its reminders come
    soon), the demo people, and their invitations, which the worker sends at once."""
    zone = ZoneInfo("Europe/London")
    starts = (rt.clock() + timedelta(days=1, hours=3)).astimezone(zone).replace(tzinfo=None)
    text = EVENT.format(
        id=DEMO_EVENT, tag=DEMO_TAG, starts=starts, ends=starts + timedelta(hours=2)
    )
    rt.events.add(load_event_text(text, path="(demo event)"))
    rt.events.sync()
    for phone, name, language in PEOPLE:
        person = simulator.add_contact(rt, phone=phone, first_name=name, language=language)
        with rt.db.transaction() as tx:
            tagged = select(ContactTag).where(
                ContactTag.contact_id == person.id, ContactTag.tag == DEMO_TAG
            )
            if tx.scalar(tagged) is None:
                tx.add(ContactTag(contact_id=person.id, tag=DEMO_TAG))
    if SLACK in rt.channels:
        _seed_slack_people(rt)
    rt.events.invite(DEMO_EVENT)


@contextmanager
def slack_workspace(events_url: str) -> Iterator[FakeSlack]:
    """The demo's made-up Slack workspace, sending what its people do to ``events_url``."""
    with FakeSlack(
        bot_token="xoxb-demo-" + secrets.token_hex(12),
        signing_secret=secrets.token_hex(16),
        events_url=events_url,
    ) as slack:
        for user_id, name, _ in SLACK_PEOPLE:
            slack.add_user(user_id, name)
        yield slack


def slack_settings(slack: FakeSlack) -> dict[str, Any]:
    """Settings that point the Slack channel and app at the made-up workspace."""
    return {
        "slack_bot_token": SecretStr(slack.bot_token),
        "slack_signing_secret": SecretStr(slack.signing_secret),
        "slack_bot_user_id": slack.bot_user_id,
        "slack_api_url": slack.api_url,
        "slack_rehearsal": True,  # made-up people: nothing waits for quiet hours
    }


def _seed_slack_people(rt: Runtime) -> None:
    now = rt.clock()
    with rt.db.transaction() as tx:
        c = tx.connection()
        for user_id, name, language in SLACK_PEOPLE:
            if contacts.find_address(tx, SLACK, user_id) is not None:
                continue
            person = contacts.create(
                c,
                SLACK,
                user_id,
                {
                    "language": language,
                    "timezone": rt.settings.default_timezone,
                    "fields": {},
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                },
                {
                    "status": "opted_in",
                    "source": "coordinator",
                    "words": "made up in the demo's Slack workspace",
                    "at": now,
                },
            )
            contacts.update_contact(c, person.id, {"first_name": name})
            contacts.add_tag(c, person.id, DEMO_TAG)
