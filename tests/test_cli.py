"""The ``outreach`` command as a coordinator uses it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from outreach.cli import app
from outreach.settings import Settings
from outreach.store import migrate
from outreach.store.database import Database

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def invoke(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin, obj=settings, prog_name="outreach")
    return result.exit_code, result.stdout, result.stderr


def test_validate_shipped_flows_exits_zero(settings: Settings) -> None:
    code, out, _ = invoke(settings, "flows", "validate")
    assert code == 0
    shipped = len(list((ROOT / "flows").glob("*.yaml")))
    events = len(list((ROOT / "flows/events").glob("*.yaml")))
    partners = len(list((ROOT / "flows/partners").glob("*.yaml")))
    decisions = len(list((ROOT / "flows/decisions").glob("*.yaml")))
    checked = (
        f"{shipped} flow(s) and {events} event(s) and {partners} partner(s) "
        f"and {decisions} decision(s) checked"
    )
    assert f"all valid; {checked}: 0 error(s)" in out


def test_validate_broken_folder_lists_every_problem_and_exits_one(settings: Settings) -> None:
    code, out, err = invoke(settings, "flows", "validate", str(ROOT / "tests/flows/bad"))
    assert code == 1
    lines = [line for line in out.splitlines() if line]
    bad_files = {p.name for p in (ROOT / "tests/flows/bad").glob("*.yaml")}
    named = {Path(line.split(":", 1)[0]).name for line in lines}
    assert bad_files - {"too-long.yaml"} <= named
    assert all(":" in line.split(" ", 1)[0] for line in lines)  # file:line:column first
    assert "error(s)" in err


def test_simulate_invitation_script_saves_answers_and_confirms(settings: Settings) -> None:
    script = "yes\nI need a BSL interpreter\n"
    code, out, _ = invoke(
        settings,
        "flows",
        "simulate",
        "big-conversation-invite",
        "--json",
        "--at",
        "2026-03-02T10:00:00+00:00",
        stdin=script,
    )
    assert code == 0, out
    result = json.loads(out)
    assert result["answers"] == {"rsvp": "yes", "access_needs": "I need a BSL interpreter"}
    last = [e for e in result["transcript"] if e["who"] == "outreach"][-1]
    assert last["text"].startswith("Thank you, see you on")
    assert result["status"] == "ended"


def test_simulate_reasks_invalid_reply_and_reaches_timeout(settings: Settings) -> None:
    script = "blue\n/wait 5d\n"
    code, out, _ = invoke(
        settings, "flows", "simulate", "big-conversation-invite", "--json", stdin=script
    )
    assert code == 0, out
    result = json.loads(out)
    kinds = [e["kind"] for e in result["transcript"] if e["who"] == "outreach"]
    assert kinds == ["message", "question", "hint", "reminder"]
    assert result["tags"] == ["invite-no-reply"]  # the timeout branch ran
    assert result["status"] == "ended"


def test_simulate_sets_language_and_fields(settings: Settings) -> None:
    code, out, _ = invoke(
        settings,
        "flows",
        "simulate",
        "big-conversation-invite",
        "--json",
        "--field",
        "first_name=Olu",
        "--lang",
        "cy",
        stdin="no\n",
    )
    assert code == 0, out
    result = json.loads(out)
    assert result["transcript"][0]["text"].startswith("Helo Olu, dyma wahoddiad")  # in Welsh
    assert result["language"] == "cy"


def test_simulate_unknown_flow_fails_clearly(settings: Settings) -> None:
    code, _, err = invoke(settings, "flows", "simulate", "nope", stdin="")
    assert code == 1
    assert "no flow called 'nope'" in err


def test_diagram_prints_mermaid(settings: Settings) -> None:
    code, out, _ = invoke(settings, "flows", "diagram", "big-conversation-invite")
    assert code == 0
    assert out.startswith("flowchart TD")
    assert "invite -- timeout --> no-reply" in out


def test_broken_flow_folder_stops_the_demo_with_the_problem(
    settings: Settings, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "tests/flows/bad/unknown-step.yaml", tmp_path / "x.yaml")
    demo_db = tmp_path / "demo.db"
    broken = settings.model_copy(update={"flows_dir": tmp_path})
    code, _, err = invoke(broken, "demo", "--database", str(demo_db), "--port", "0")
    assert code == 1
    assert "x.yaml:9:11" in err
    assert not demo_db.exists()  # stopped before it made its database


def test_flows_looked_for_where_there_are_none_say_where_and_what_to_do(
    settings: Settings, tmp_path: Path
) -> None:
    elsewhere = settings.model_copy(update={"flows_dir": tmp_path / "flows"})
    code, out, _ = invoke(elsewhere, "flows", "validate")
    assert code == 1
    assert f"there is no file or folder {tmp_path / 'flows'}" in out
    assert "set OUTREACH_FLOWS_DIR" in out


def test_without_its_catalogs_nothing_starts_to_talk_to_people(
    settings: Settings, tmp_path: Path
) -> None:
    # Everyone would be written to in English and their replies (stop, yes) misread.
    elsewhere = settings.model_copy(update={"locales_dir": tmp_path / "locales"})
    code, out, err = invoke(elsewhere, "flows", "simulate", "big-conversation-invite", stdin="")
    assert code == 1
    assert err.startswith(f"OUTREACH_LOCALES_DIR: there is no folder {tmp_path / 'locales'}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


@pytest.mark.parametrize("command", ["web", "worker", "demo", "flows"])
def test_procfile_commands_have_help(settings: Settings, command: str) -> None:
    code, out, _ = invoke(settings, command, "--help")
    assert code == 0 and "Usage" in out


def test_events_dry_run_show_and_invite(settings: Settings, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "phone,first_name,language,tags\n"
        "07400 100001,Amina,en,mental-health\n"
        "07400 100002,Bronwen,cy,carers\n"
        "07400 100003,Sam,en,mental-health;staff\n"
        "07400 100004,Olu,en,diabetes\n",
        encoding="utf-8",
    )
    assert invoke(settings, "db", "upgrade")[0] == 0
    code, out, err = invoke(
        settings, "contacts", "import", str(people), "--consent-source", "signed up at a stall"
    )
    assert code == 0, out + err
    event = "mental-health-2027-01"

    code, out, _ = invoke(settings, "events", "list")
    assert code == 0
    assert f"{event}  Thu 21 Jan 2027 18:00" in out
    assert "(invited 0, coming 0/60, waiting 0)" in out

    code, out, _ = invoke(settings, "events", "invite", event, "--dry-run")
    assert code == 0
    assert "would invite 2 people (cy 1, en 1)" in out
    assert "estimated cost" in out and "GBP" in out
    code, out, _ = invoke(settings, "events", "invite", event, "--dry-run", "--list")
    assert code == 0
    assert "would invite 2 people (cy 1, en 1)" in out
    who = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert who == [["A.", "...001", "en"], ["B.", "...002", "cy"]]
    assert "Amina" not in out and "100001" not in out
    code, out, _ = invoke(settings, "events", "invite", event, "--dry-run", "--list", "--reveal")
    assert "  Amina  +447400100001  en" in out and "  Bronwen  +447400100002  cy" in out
    code, _, err = invoke(settings, "events", "invite", event, "--list")
    assert code == 1 and "--dry-run" in err
    code, out, _ = invoke(settings, "events", "show", event)
    assert "invited:   0" in out  # the dry runs recorded nothing

    code, out, _ = invoke(settings, "events", "invite", event)
    assert code == 0 and "2 people invited" in out
    code, out, _ = invoke(settings, "events", "show", event)
    assert "invited:   2" in out and "no reply:  2" in out
    assert "next: reminder-1 at Thu 14 Jan 2027 18:00" in out

    code, _, err = invoke(settings, "events", "show", "no-such-event")
    assert code == 1 and f"known events: {event}" in err


def every_command(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command and group, from the root down."""
    found = [path]
    if isinstance(group, TyperGroup):
        for name, command in group.commands.items():
            if not command.hidden:
                found += every_command(command, (*path, name))
    return found


COMMANDS = every_command(get_command(app))
PYTHON_TYPES = re.compile(r"<\w+(\[[\w, |\[\]]*\])?>|\blist\[|\{\w+\}|``|--no-")


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "outreach" for p in COMMANDS])
def test_help_reads_without_python_types_or_markup(
    settings: Settings, path: tuple[str, ...]
) -> None:
    code, out, _ = invoke(settings, *path, "--help")
    assert code == 0 and out.startswith("Usage: outreach"), out
    assert not PYTHON_TYPES.search(out), out
    assert "[OPTIONS]" in out.splitlines()[0]
    assert "--help" in out


def test_help_shows_flags_as_flags_and_repeatable_options_by_their_form(
    settings: Settings,
) -> None:
    demo = invoke(settings, "demo", "--help")[1]
    assert re.search(r"^\s+--fast\s{2,}Run the clock", demo, re.M), demo
    simulate = invoke(settings, "flows", "simulate", "--help")[1]
    assert re.search(r"^\s+--field NAME=VALUE\s{2,}.*\(repeatable\)", simulate, re.M), simulate
    assert "Usage: outreach flows simulate [OPTIONS] FLOW" in simulate
    assert '"/wait 48h"' in simulate
    code, _, err = invoke(settings, "events", "show")
    assert code == 2 and "Usage: outreach events show [OPTIONS] EVENT" in err
    imports = invoke(settings, "contacts", "import", "--help")[1]
    assert re.search(r"^\s+--map COLUMN=FIELD\s{2,}", imports, re.M), imports
    assert re.search(r"^\s+--dry-run\s{2,}Check", imports, re.M), imports


def test_the_installed_command_prints_the_same_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "events", "invite", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: outreach events invite [OPTIONS] EVENT")
    assert not PYTHON_TYPES.search(result.stdout)


# -- a database that is missing, behind or out of reach ---------------------------------------

NEEDS_THE_DATABASE = [
    ("events", "list"),
    ("events", "show", "mental-health-2027-01"),
    ("events", "invite", "mental-health-2027-01", "--dry-run"),
    ("events", "invite", "mental-health-2027-01"),
    ("contacts", "export", "07400 123456"),
    ("contacts", "erase", "07400 123456", "--yes"),
    ("retention", "run"),
    ("outbox", "flush"),
]


def one_line_failure(settings: Settings | None, *args: str, **env: str) -> str:
    """What a command that cannot do its work says: one line on standard error, exit 1."""
    result = runner.invoke(app, list(args), obj=settings, env=env, prog_name="outreach")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stdout == "", result.output
    return lines[0]


@pytest.mark.parametrize("command", NEEDS_THE_DATABASE, ids=" ".join)
def test_commands_before_db_upgrade_say_what_to_run_and_create_nothing(
    settings: Settings, tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = one_line_failure(settings, *command)
    assert "outreach db upgrade" in line and "outreach.db" in line
    assert not (tmp_path / "outreach.db").exists()


def test_import_before_db_upgrade_says_what_to_run(settings: Settings, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("phone\n07400 100001\n", encoding="utf-8")
    line = one_line_failure(settings, "contacts", "import", str(people), "--consent-source", "x")
    assert "outreach db upgrade" in line


def test_a_database_behind_the_code_says_what_to_run(settings: Settings) -> None:
    db = Database(settings.database_url)
    with db.engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection=connection), "0003")
    db.close()
    line = one_line_failure(settings, "events", "list")
    assert "revision 0003" in line and f"needs {migrate.head_revision()}" in line
    assert "outreach db upgrade" in line
    assert invoke(settings, "db", "upgrade")[0] == 0
    assert invoke(settings, "events", "list")[0] == 0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "OUTREACH_DATABASE_URL"),
        ("mysql://someone@127.0.0.1/x", "OUTREACH_DATABASE_URL"),
        ("postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none", "cannot reach the database"),
    ],
)
def test_a_database_url_that_does_not_work_is_one_line(
    settings: Settings, url: str, says: str
) -> None:
    broken = settings.model_copy(update={"database_url": url})
    for args in (("db", "upgrade"), ("events", "list")):
        line = one_line_failure(broken, *args)
        assert says in line and "s3cret" not in line


def test_a_setting_that_is_not_valid_is_one_line_naming_it(tmp_path: Path) -> None:
    line = one_line_failure(None, "retention", "run", OUTREACH_RETENTION_DAYS="a year")
    assert "OUTREACH_RETENTION_DAYS" in line


def test_files_that_are_not_there_are_one_line(settings: Settings, tmp_path: Path) -> None:
    line = one_line_failure(settings, "i18n", "check", "--update-docs", str(tmp_path / "no.md"))
    assert "no.md" in line
    missing = settings.model_copy(update={"flows_dir": tmp_path / "no-flows"})
    assert "no-flows" in one_line_failure(missing, "flows", "diagram", "join")
