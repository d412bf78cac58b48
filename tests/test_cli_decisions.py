"""``outreach decisions`` on a real store: check, preview (counts per language, who will not
be told and why), send once, and the record; bad input is one line and exit 1."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from outreach.cli import app
from outreach.settings import Settings
from outreach.store.database import Database
from tests.conftest import ROOT
from tests.services.conftest import add_contact, add_event, answered

SHIPPED = ROOT / "flows/decisions/2027-02-evening-sessions.yaml"
EVENT = "mental-health-2027-01"


def run(settings: Settings, db: Database, *args: str) -> tuple[int, str, str]:
    configured = settings.model_copy(update={"database_url": db.url})
    result = CliRunner().invoke(app, list(args), obj=configured, prog_name="outreach")
    return result.exit_code, result.stdout, result.stderr


def contributors(db: Database, t0: datetime) -> dict[str, int]:
    add_event(db, at=t0, event_id=EVENT)
    people = {
        "en": add_contact(db, 1, at=t0),
        "cy": add_contact(db, 2, at=t0, language="cy"),
        "ur": add_contact(db, 3, at=t0, language="ur"),  # the decision has no Urdu
        "other": add_contact(db, 4, at=t0),
    }
    for key in ("en", "cy", "ur"):
        answered(db, people[key], "change", at=t0, event=EVENT)
    answered(db, people["other"], "rating", at=t0, event=EVENT)
    return people


def test_shipped_decision_checks_previews_sends_once_and_reports(
    settings: Settings, db: Database, t0: datetime
) -> None:
    contributors(db, t0)
    code, out, _ = run(settings, db, "decisions", "check")
    assert code == 0 and "1 decision(s) checked: 0 error(s)" in out
    code, out, err = run(settings, db, "decisions", "preview", str(SHIPPED))
    assert code == 0, err
    assert "will be sent to 2 people" in out
    assert "  en: 1 person" in out and "  cy: 1 person" in out
    assert "no text in ur: 1 person" in out
    code, out, _ = run(settings, db, "decisions", "send", "evening-sessions-2027")
    assert code == 0 and "sent to 2 people" in out and "not sent: 1 (no text" in out
    code, out, _ = run(settings, db, "decisions", "send", str(SHIPPED))
    assert code == 0 and "sent to 0 people" in out
    code, out, _ = run(settings, db, "decisions", "report", "evening-sessions-2027")
    assert code == 0 and "sent to <5" in out and "does it feel right? none yet" in out
    code, out, _ = run(settings, db, "report", EVENT, "--format", "json")
    decided = json.loads(out)["decisions"]
    assert [d["id"] for d in decided] == ["evening-sessions-2027"]
    assert decided[0]["not_sent"]["no_text"] == "<5"
    code, out, _ = run(settings, db, "report", EVENT)  # the board's document
    assert code == 0 and '<h2 id="decisions">You said, we did</h2>' in out
    assert "Evening sessions and paid travel" in out


def test_decisions_bad_input_is_one_line_and_exit_one(
    settings: Settings, db: Database, t0: datetime, tmp_path: Path
) -> None:
    code, _, err = run(settings, db, "decisions", "preview", "no-such-decision")
    assert code == 1 and "no decision 'no-such-decision'" in err and err.count("\n") == 1
    broken = tmp_path / "broken.yaml"
    shutil.copy(SHIPPED, broken)
    broken.write_text(
        broken.read_text().replace("answer: change", "answer: chnage"), encoding="utf-8"
    )
    code, _, err = run(settings, db, "decisions", "send", str(broken))
    assert code == 1 and "there is no answer 'chnage'" in err and "did you mean" in err
    assert err.count("\n") == 1
    statements = tmp_path / "statements.yaml"
    statements.write_text(
        "version: 1\ndecision: s\ntitle: S\ntext: {en: Hi}\nstatements: [1]\n", encoding="utf-8"
    )
    code, _, err = run(settings, db, "decisions", "send", str(statements))
    assert code == 1 and "statements that do not exist: 1" in err
    assert err.count("\n") == 1
