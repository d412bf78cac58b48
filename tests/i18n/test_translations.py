"""Every message in the person's own language: catalogs, checks, formats, replies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from typer.testing import CliRunner

from outreach.cli import app
from outreach.conversations.simulation import Simulation
from outreach.flows.engine import Engine
from outreach.flows.matching import parse_yesno
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.locales import format_value, text_direction
from outreach.i18n.vocabulary import Vocabulary
from outreach.settings import Settings
from tests.conftest import ROOT

LANGUAGES = ["ar", "bn", "cy", "es", "gu", "it", "pa", "pl", "pt", "ro", "ur"]
runner = CliRunner()


def messages_of(pot: Path) -> list[tuple[str, list[tuple[str, int | None]]]]:
    with pot.open("rb") as fh:
        catalog = read_po(fh)
    return [(str(m.id), sorted(m.locations)) for m in catalog if m.id]


def test_pybabel_and_outreach_extract_the_same_template(tmp_path: Path) -> None:
    ours = tmp_path / "ours.pot"
    theirs = tmp_path / "theirs.pot"
    pybabel = Path(sys.executable).parent / "pybabel"  # the command translators already use
    command = [
        str(pybabel),
        "-q",
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "N_",
        "-k",
        "NC_:1c,2",
        "--sort-by-file",
        "--add-comments",
        "TRANSLATORS:",
        "-o",
        str(theirs),
        ".",
    ]
    subprocess.run(command, cwd=ROOT, check=True)
    settings = Settings(flows_dir=ROOT / "flows", locales_dir=tmp_path / "locales", _env_file=None)
    result = runner.invoke(app, ["i18n", "extract"], obj=settings)
    assert result.exit_code == 0, result.output
    shutil.copy(tmp_path / "locales" / "messages.pot", ours)
    assert messages_of(ours) == messages_of(theirs)
    found = dict(messages_of(ours))
    assert found["Which language would you like our messages in?"] == [
        ("flows/choose-language.yaml", 11)
    ]
    receipt = "You won't get any more messages from {org}. Reply START if you change your mind."
    assert [path for path, _ in found[receipt]] == ["outreach/conversations/commands.py"]


def test_shipped_template_is_current(tmp_path: Path) -> None:
    """Every text is in the template (code line numbers may drift; flow lines may not)."""
    settings = Settings(flows_dir=ROOT / "flows", locales_dir=tmp_path, _env_file=None)
    runner.invoke(app, ["i18n", "extract"], obj=settings)

    def comparable(pot: Path) -> list[tuple[str, list[tuple[str, int | None]]]]:
        return [
            (msgid, [(f, None if f.endswith(".py") else n) for f, n in where])
            for msgid, where in messages_of(pot)
        ]

    assert comparable(tmp_path / "messages.pot") == comparable(ROOT / "locales/messages.pot"), (
        "run: outreach i18n extract && outreach i18n update"
    )


def copy_locales(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", target)
    return target


def edit(locales: Path, language: str, msgid: str, translation: str) -> None:
    path = locales / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    catalog[msgid].string = translation
    with path.open("wb") as fh:
        write_po(fh, catalog)


def check(locales: Path, *extra: str) -> tuple[int, str]:
    settings = Settings(flows_dir=ROOT / "flows", locales_dir=locales, _env_file=None)
    result = runner.invoke(app, ["i18n", "check", *extra], obj=settings)
    return result.exit_code, result.stdout + result.stderr


def test_check_passes_on_shipped_catalogs_and_marks_drafts() -> None:
    code, out = check(ROOT / "locales")
    assert code == 0, out
    assert f"all {len(LANGUAGES) + 1} language(s) pass" in out  # and English, measured as sent
    assert out.count("machine-drafted: needs review by a native speaker") == len(LANGUAGES)
    assert "because of the language's own letters: âîô" in out  # Welsh: only its accents


def test_check_fails_on_a_dropped_placeholder(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path)
    edit(
        locales,
        "cy",
        "Thank you {answers.first_name}, you're registered. Reply STOP at any "
        "time to stop messages, or HELP for help.",
        "Diolch, rydych wedi cofrestru.",
    )
    code, out = check(locales)
    assert code == 1
    assert "cy: " in out
    assert "the translation drops {answers.first_name}; keep it as it is" in out


def test_check_fails_when_two_options_read_the_same(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path)
    edit(locales, "pl", "Maybe", "Tak, przyjdę")
    code, out = check(locales)
    assert code == 1
    assert (
        "pl: flow big-conversation-invite, step invite: options 'yes' and 'maybe' both "
        "answer to 'tak przyjde'" in out
    )


def test_check_fails_when_a_translation_is_too_long(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path)
    edit(locales, "ro", "Would you like to come?", "Doriți să veniți? " * 20)
    code, out = check(locales)
    assert code == 1
    assert (
        "ro: flow big-conversation-invite, step ask-again (send) is 6 segments (UCS-2) as sent "
        "for event mental-health-2027-01, over the limit of 3" in out
    )


def test_segment_table_in_docs_is_current(tmp_path: Path) -> None:
    docs = tmp_path / "translating.md"
    shutil.copy(ROOT / "docs/translating.md", docs)
    code, _ = check(ROOT / "locales", "--update-docs", str(docs))
    assert code == 0
    assert docs.read_text(encoding="utf-8") == (ROOT / "docs/translating.md").read_text(
        encoding="utf-8"
    ), "run: outreach i18n check --update-docs docs/translating.md"


@pytest.fixture(scope="module")
def translated_engine(shipped_flows: dict) -> Engine:  # type: ignore[type-arg]
    return Engine(shipped_flows, translate=Catalogs(ROOT / "locales").gettext)


@pytest.mark.parametrize(
    ("language", "opening", "date"),
    [
        ("cy", "Helo Nia, dyma wahoddiad", "Dydd Iau, 12 Mawrth"),
        ("pl", "Dzień dobry Nia, zapraszamy", "czwartek, 12 marca"),
        ("ro", "Bună Nia, vă invităm", "joi, 12 martie"),
        ("en", "Hi Nia, you're invited", "Thursday, 12 March"),
    ],
)
def test_invitation_in_the_persons_language_and_date_format(
    translated_engine: Engine, language: str, opening: str, date: str
) -> None:
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    sim = Simulation(
        translated_engine,
        Contact(language=language, fields={"first_name": "Nia"}),
        now,
        event=demo_event(now),
    )
    sim.start("big-conversation-invite")
    text = sim.transcript[0].text
    assert text.startswith(opening)
    assert date in text
    assert "{" not in text


def test_missing_name_uses_the_translated_fallback(translated_engine: Engine) -> None:
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    sim = Simulation(translated_engine, Contact(language="pl"), now, event=demo_event(now))
    sim.start("big-conversation-invite")
    assert sim.transcript[0].text.startswith("Dzień dobry, zapraszamy")


@pytest.mark.parametrize(
    ("language", "reply", "meaning"),
    [
        ("pl", "Tak", "yes"),
        ("pl", "nie", "no"),
        ("cy", "ie", "yes"),
        ("cy", "Na!", "no"),
        ("ro", "da", "yes"),
        ("ro", "nu", "no"),
        ("ur", "haan", "yes"),
        ("ur", "نہیں", "no"),
        ("ar", "نعم", "yes"),
        ("bn", "হ্যাঁ", "yes"),
        ("pa", "ਨਹੀਂ", "no"),
        ("cy", "yes", "yes"),
    ],
)
def test_yes_and_no_in_each_language(language: str, reply: str, meaning: str) -> None:
    assert parse_yesno(reply, language, Vocabulary(Catalogs(ROOT / "locales"))) == meaning


def test_fallback_chain_reaches_english_for_unknown_regional_variants() -> None:
    catalogs = Catalogs(ROOT / "locales")
    assert catalogs.gettext("cy_GB", "Maybe") == "Efallai"  # cy_GB -> cy
    assert catalogs.gettext("pt_BR", "Maybe") == "Talvez"  # pt_BR -> pt
    assert catalogs.gettext("so", "Maybe") == "Maybe"  # no Somali yet: English


def test_right_to_left_languages_are_known() -> None:
    assert [text_direction(lang) for lang in ("ar", "ur", "cy", "pa")] == [
        "rtl",
        "rtl",
        "ltr",
        "ltr",
    ]
    when = datetime(2026, 3, 5, 18, tzinfo=UTC)
    assert format_value(when, "date", language="cy", timezone="Europe/London") == (
        "Dydd Iau, 5 Mawrth"
    )
    assert format_value(when, "date", language="pl", timezone="Europe/London") == (
        "czwartek, 5 marca"
    )


def test_check_reports_an_event_that_lacks_a_language(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    event = flows / "events" / "2027-01-mental-health.yaml"
    text = event.read_text(encoding="utf-8")
    event.write_text(text.replace("  cy: cymorth iechyd meddwl\n", ""), encoding="utf-8")
    settings = Settings(flows_dir=flows, locales_dir=ROOT / "locales", _env_file=None)
    result = runner.invoke(app, ["i18n", "check"], obj=settings)
    assert result.exit_code == 0, result.output  # English stands in: reported, not refused
    assert (
        "event mental-health-2027-01 does not give topic in cy: its readers get English there"
        in result.stdout
    )
    assert result.stdout.count("does not give") == 1  # every other language is given


def test_check_measures_messages_as_sent_with_the_events_own_texts(tmp_path: Path) -> None:
    """A long venue name in Polish pushes the reminder over the limit as it would be sent,
    though the translation alone is short enough."""
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    event = flows / "events" / "2027-01-mental-health.yaml"
    text = event.read_text(encoding="utf-8")
    long_name = "Centrum Społeczności Nadrzecznej imienia Wszystkich Mieszkańców Worcester"
    event.write_text(
        text.replace("    pl: Riverside Community Centre", f"    pl: {long_name.strip()}"),
        encoding="utf-8",
    )
    settings = Settings(flows_dir=flows, locales_dir=ROOT / "locales", _env_file=None)
    result = runner.invoke(app, ["i18n", "check"], obj=settings)
    assert result.exit_code == 1
    assert (
        "pl: flow event-reminder, step remind (send) is 4 segments (UCS-2) as sent for event "
        "mental-health-2027-01, over the limit of 3: shorten the translation (or the event's "
        "texts), or send the question as a step of its own" in result.stderr
    )
    assert "en: " not in result.stderr  # the English invitation still fits
