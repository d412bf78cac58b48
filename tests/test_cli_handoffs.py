"""``outreach handoffs``: a team without Slack sees who asked for a person, answers them and
resolves it, from the terminal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from outreach.channels.base import Inbound
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.migrate import upgrade
from outreach.store.models import Handoff, Message
from tests.conftest import mobile
from tests.test_cli import invoke


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    db = Database(settings.database_url)
    upgrade(db)
    runtime = Runtime.build(settings, db=db)
    yield runtime
    runtime.close()


def test_list_show_reply_and_resolve_a_handoff(settings: Settings, rt: Runtime) -> None:
    rt.conversations.receive(Inbound("tel", mobile(3), "Can someone call me?", "SM1"))
    rt.due.run()  # no Slack: the handoff is only listed
    code, out, _ = invoke(settings, "handoffs", "list")
    assert code == 0 and "#1" in out and "human" in out and mobile(3) not in out

    code, out, _ = invoke(settings, "handoffs", "show", "1")
    assert code == 0 and "They asked to talk to a person." in out
    assert "them  Can someone call me?" in out

    code, out, _ = invoke(settings, "handoffs", "reply", "1", "Hello, this is Jo. When suits?")
    assert code == 0 and "reply queued" in out
    with rt.db.transaction() as tx:
        bodies = tx.scalars(select(Message.body).where(Message.direction == "out")).all()
    assert bodies[-1].startswith("Hello, this is Jo. When suits?")

    code, out, _ = invoke(settings, "handoffs", "resolve", "1")
    assert code == 0 and "handoff #1 resolved" in out
    with rt.db.transaction() as tx:
        assert tx.scalar(select(Handoff.status)) == "closed"
    code, out, _ = invoke(settings, "handoffs", "list")
    assert out.strip() == "no handoffs waiting"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("show", "99"), "there is no handoff 99"),
        (("reply", "99", "hi"), "there is no handoff 99"),
        (("resolve", "99"), "there is no handoff 99"),
    ],
)
def test_a_wrong_handoff_is_one_line_and_exit_one(
    settings: Settings, rt: Runtime, args: tuple[str, ...], said: str
) -> None:
    code, _, err = invoke(settings, "handoffs", *args)
    assert code == 1 and said in err and len(err.strip().splitlines()) == 1


def test_an_empty_reply_or_a_resolved_handoff_is_refused(settings: Settings, rt: Runtime) -> None:
    rt.conversations.receive(Inbound("tel", mobile(4), "HUMAN", "SM2"))
    code, _, err = invoke(settings, "handoffs", "reply", "1", "   ")
    assert code == 1 and "the reply is empty" in err
    assert invoke(settings, "handoffs", "resolve", "1")[0] == 0
    code, _, err = invoke(settings, "handoffs", "reply", "1", "hello?")
    assert code == 1 and "resolved already" in err
