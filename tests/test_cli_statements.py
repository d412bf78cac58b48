"""``outreach statements``: a coordinator moderates what people sent, seeds statements from a
file, and reads the common ground, from the terminal; ``outreach report`` carries it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from outreach.channels.base import Inbound
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store import opinions
from outreach.store.database import Database
from outreach.store.migrate import upgrade
from tests.conftest import ROOT, mobile
from tests.services.conftest import add_contact, add_event
from tests.test_cli import invoke


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    db = Database(settings.database_url)
    upgrade(db)
    runtime = Runtime.build(settings, db=db)
    yield runtime
    runtime.close()


def test_seed_moderate_and_list(settings: Settings, rt: Runtime, t0: datetime) -> None:
    code, out, _ = invoke(settings, "statements", "seed", str(ROOT / "flows" / "statements"))
    assert code == 0 and "7 statement(s) in place" in out
    assert invoke(settings, "statements", "seed", str(ROOT / "flows/statements"))[0] == 0
    code, out, _ = invoke(settings, "statements", "list", "--status", "approved")
    assert code == 0 and len(out.strip().splitlines()) == 7  # seeding again added nothing

    event = add_event(rt.db, at=t0, event_id="mental-health-2027-01")
    cid = add_contact(rt.db, 3, at=t0)
    rt.conversations.start(cid, "common-ground", event_id=event)
    rt.conversations.receive(Inbound("tel", mobile(3), "NEW Parking costs too much", "SM1"))
    code, out, _ = invoke(settings, "statements", "list", "--status", "pending")
    assert code == 0 and "#8  pending" in out and "a person" in out
    assert "Parking costs too much" in out and mobile(3) not in out
    code, out, _ = invoke(settings, "statements", "approve", "8")
    assert code == 0 and "statement #8 approved" in out
    code, out, _ = invoke(settings, "statements", "reject", "1")
    assert code == 0 and "statement #1 rejected" in out
    assert invoke(settings, "statements", "list", "--status", "pending")[1].strip() == (
        "no statements"
    )
    code, out, _ = invoke(settings, "statements", "add", event, "Buses should run later.")
    assert code == 0 and "statement #9 added to mental-health-2027-01" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("approve", "99"), "there is no statement 99"),
        (("list", "--status", "maybe"), "status is pending, approved or rejected"),
        (("add", "a b", "Words."), "a conversation is an event id"),
        (("add", "bc", "x" * 300), "at most 280 characters"),
        (("add", "bc", "   "), "a statement needs some words"),
        (("results", "bc", "--groups", "tags:"), "name the tags to group by"),
        (("seed", "README.md"), "no statements files there"),
    ],
)
def test_bad_input_is_one_line_and_exit_one(
    settings: Settings, rt: Runtime, args: tuple[str, ...], said: str
) -> None:
    code, _, err = invoke(settings, "statements", *args)
    assert code == 1 and said in err and len(err.strip().splitlines()) == 1


def test_a_broken_statements_file_adds_nothing(
    settings: Settings, rt: Runtime, tmp_path: Path
) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("conversation: bc\nstatements:\n  - Fine.\n  - [not, words]\n")
    code, _, err = invoke(settings, "statements", "seed", str(bad))
    assert code == 1 and "statement 2 is not words" in err
    assert invoke(settings, "statements", "list")[1].strip() == "no statements"


def _planted(db: Database, t0: datetime) -> str:
    event = add_event(db, at=t0)
    ids = [
        opinions_add(db, event, text, t0)
        for text in ("Evening appointments help.", "Carers come first.")
    ]
    people = [
        (add_contact(db, 10 + n, at=t0, fields={"role": ("carer", "patient")[n % 2]}), n % 2)
        for n in range(30)
    ]
    with db.transaction() as tx:
        for cid, side in people:
            opinions.vote(tx.connection(), ids[0], cid, "agree", t0)
            opinions.vote(tx.connection(), ids[1], cid, ("agree", "disagree")[side], t0)
    return event


def opinions_add(db: Database, event: str, text: str, at: datetime) -> int:
    with db.transaction() as tx:
        return opinions.add(
            tx.connection(), conversation=event, text=text, language="en", now=at, approved_by="x"
        )


def test_results_and_report_show_common_ground(
    settings: Settings, rt: Runtime, t0: datetime
) -> None:
    event = _planted(rt.db, t0)
    code, out, _ = invoke(settings, "statements", "results", event)
    assert code == 0
    assert "Common ground (every group, significantly):\n  #1 agrees: Evening" in out
    assert "Divisive (one group agrees, another disagrees):\n  #2: Carers come first." in out
    code, out, _ = invoke(settings, "report", event, "--format", "json")
    data = json.loads(out)["common_ground"]
    assert [s["id"] for s in data["consensus"]] == [1]
    assert [s["id"] for s in data["divisive"]] == [2]
    assert data["statements"][0]["groups"]["carer"]["agree"] == 15
    code, out, _ = invoke(settings, "report", event)
    assert "Common ground between groups" in out and "Carers come first." in out
