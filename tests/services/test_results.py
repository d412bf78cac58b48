"""Results of an event with 200 synthetic participants in four declared groups: the numbers
planted come back, small ones as "<5", on every backend and through ``outreach report``."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime

import pytest
from typer.testing import CliRunner

from outreach.cli import app
from outreach.services.results import (
    HIDDEN,
    QUOTE_TAG,
    WITHHELD,
    GroupRow,
    Results,
    Shown,
    attended_tag,
)
from outreach.settings import Settings
from outreach.store import answer_themes
from outreach.store.database import Database
from outreach.store.models import Answer
from tests.seeding import Planted, plant_event

EVENT = "board-2026"
SURVEY = "post-event-survey"
# ethnicity, age band, language, postcode: (people, yes, maybe, no, waitlist, attended)
GROUPS = {
    "White British": ("65+", "en", "WR1", (100, 40, 10, 20, 5, 30)),
    "Pakistani": ("25-44", "ur", "WR2", (60, 30, 3, 10, 0, 25)),
    "Polish": ("45-64", "pl", "WR3", (37, 20, 5, 5, 2, 15)),
    "Black Caribbean": ("18-24", "en", "WR4", (3, 3, 0, 0, 0, 2)),
}
OPTIONS = ("place", "support", "people", "payment")


def participants() -> list[Planted]:
    """200 people; those who came rate the event, say what helped and what to change."""
    people = []
    for ethnicity, (age, language, district, numbers) in GROUPS.items():
        total, yes, maybe, no, waiting, attended = numbers
        statuses = (["yes"] * yes + ["maybe"] * maybe + ["no"] * no + ["waitlist"] * waiting) + [
            "invited"
        ] * (total - yes - maybe - no - waiting)
        for i, status in enumerate(statuses):
            came = status == "yes" and i < attended
            n = len(people)
            answers: list[tuple[str, str, str, str, object]] = []
            tags = [attended_tag(EVENT)] if came else []
            if status == "yes":
                need = "wheelchair space" if i % 4 == 0 else "none"
                answers.append(("big-conversation-invite", "access", "access_needs", "text", need))
            if came:
                answers += [
                    (SURVEY, "rating", "rating", "rating", n % 5 + 1),
                    (SURVEY, "helped", "helped", "choice", OPTIONS[n % 4]),
                    (SURVEY, "change", "change", "text", f"=cmd|' /C calc'!A0 more buses {n}"),
                ]
                if n % 3 == 0:
                    tags.append(QUOTE_TAG)
            people.append(
                Planted(
                    status=status,
                    language=language,
                    age_band=age,
                    ethnicity=ethnicity,
                    postcode_district=district,
                    tags=tags,
                    answers=answers,
                )
            )
    assert len(people) == 200
    return people


@pytest.fixture
def planted(db: Database, t0: datetime) -> list[Planted]:
    people = participants()
    plant_event(db, EVENT, people, at=t0)
    return people


def test_event_numbers_by_group_are_the_ones_planted_and_small_ones_hidden(
    db: Database, planted: list[Planted]
) -> None:
    results = Results(db).event(EVENT)

    assert results.totals == {
        "invited": 200,
        "yes": 93,
        "maybe": 18,
        "no": 35,
        "waiting": 7,
        "no_reply": 47,
        "attended": 72,
    }
    rows = {row.value: row.counts for row in results.by_group["ethnicity"]}
    # Hidden under 5: Pakistani maybe (3), Polish waiting (2), all three Black Caribbean.
    # Then "*" where one hidden count in a row or column could be worked out: Pakistani no
    # (60 minus the rest), Polish maybe (row); Polish invited, yes, no, attended and White
    # British waiting (columns, against the totals); White British maybe (its row again).
    assert rows["White British"] == {
        "invited": 100,
        "yes": 40,
        "maybe": WITHHELD,
        "no": 20,
        "waiting": WITHHELD,
        "no_reply": 25,
        "attended": 30,
    }
    assert rows["Pakistani"]["maybe"] == HIDDEN and rows["Pakistani"]["no"] == WITHHELD
    assert rows["Pakistani"]["yes"] == 30
    assert rows["Polish"] == {
        "invited": WITHHELD,
        "yes": WITHHELD,
        "maybe": WITHHELD,
        "no": WITHHELD,
        "waiting": HIDDEN,
        "no_reply": 5,
        "attended": WITHHELD,
    }
    assert by_value_is_safe(results.by_group["ethnicity"], results.totals)
    assert rows["Black Caribbean"] == {
        "invited": HIDDEN,
        "yes": HIDDEN,
        "maybe": 0,
        "no": 0,
        "waiting": 0,
        "no_reply": 0,
        "attended": HIDDEN,
    }
    by_pct = {row.value: row.percents for row in results.by_group["ethnicity"]}
    assert by_pct["White British"]["yes"] == 40.0
    assert by_pct["Black Caribbean"]["yes"] is None  # a percentage would reveal the 3
    languages = {row.value: row.counts["invited"] for row in results.by_group["language"]}
    assert languages == {"en": 103, "pl": 37, "ur": 60}


def by_value_is_safe(rows: list[GroupRow], totals: dict[str, Shown]) -> bool:
    """No hidden count can be worked out: no row, and no column against its total, has
    exactly one hidden count."""
    columns = list(totals)
    for row in rows:
        if sum(1 for c in columns if isinstance(row.counts[c], str)) == 1:
            return False
    return all(sum(1 for row in rows if isinstance(row.counts[c], str)) != 1 for c in columns)


def test_questions_count_each_option_and_rating_in_the_database(
    db: Database, planted: list[Planted]
) -> None:
    results = Results(db).event(EVENT)
    questions = {q.name: q for q in results.questions}
    came = [a for p in planted for a in p.answers if a[0] == SURVEY]
    ratings = Counter(str(a[4]) for a in came if a[2] == "rating")
    helped = Counter(str(a[4]) for a in came if a[2] == "helped")

    rating = questions["rating"]
    assert rating.answers == 72
    assert {o.option: o.count for o in rating.options} == dict(sorted(ratings.items()))
    assert [o.option for o in rating.options] == ["1", "2", "3", "4", "5"]
    assert rating.mean == round(sum(int(k) * n for k, n in ratings.items()) / 72, 2)
    assert {o.option: o.count for o in questions["helped"].options} == dict(helped)
    assert {o.option: o.percent for o in questions["helped"].options}["place"] == round(
        100 * helped["place"] / 72, 1
    )
    assert questions["change"].kind == "text" and questions["change"].answers == 72
    assert "access_needs" not in questions  # personal: counted below, never listed
    assert results.access_needs == sum(
        1 for p in planted for a in p.answers if a[4] == "wheelchair space"
    )


def test_reach_sets_who_answered_against_who_was_invited(
    db: Database, planted: list[Planted]
) -> None:
    reach = {row.value: row for row in Results(db).event(EVENT).reach["ethnicity"]}
    # Everyone who said yes answered the access question.
    assert (reach["White British"].invited, reach["White British"].answered) == (100, 40)
    assert reach["White British"].percent == 40.0
    assert (reach["Black Caribbean"].invited, reach["Black Caribbean"].answered) == (
        HIDDEN,
        HIDDEN,
    )
    assert reach["Black Caribbean"].percent is None


def test_only_people_who_agreed_are_quoted_and_themes_filter_them(
    db: Database, planted: list[Planted], t0: datetime
) -> None:
    results = Results(db)
    quotes = results.quotes(EVENT, limit=500)
    agreed = sum(1 for p in planted if QUOTE_TAG in p.tags)
    assert len(quotes) == agreed > 0
    assert all(q.name == "change" for q in quotes)  # never an access need
    found = results.quotes(EVENT, search="BUSES 3")
    assert found and len(found) == sum(1 for q in quotes if "buses 3" in q.text)
    assert results.quotes(EVENT, search="100%_") == []  # wildcards are taken literally
    with db.transaction() as tx:
        answer_themes.tag(tx, quotes[0].answer_id, "transport", t0)
        answer_themes.tag(tx, quotes[0].answer_id, "transport", t0)  # twice is once
    tagged = results.quotes(EVENT, theme="transport")
    assert [q.answer_id for q in tagged] == [quotes[0].answer_id]
    assert tagged[0].themes == ["transport"]
    assert results.themes(EVENT) == {"transport": HIDDEN}


def test_an_access_need_tagged_met_counts_as_met(
    db: Database, planted: list[Planted], t0: datetime
) -> None:
    with db.transaction() as tx:
        needs = tx.scalars(
            Answer.__table__.select()
            .with_only_columns(Answer.id)
            .where(Answer.name == "access_needs", Answer.raw == "wheelchair space")
        ).all()
        for answer_id in needs[:6]:
            answer_themes.tag(tx, answer_id, "met", t0)
    assert Results(db).event(EVENT).access_needs_met == 6


# -- outreach report ----------------------------------------------------------------------------


def report(settings: Settings, db: Database, *args: str) -> tuple[int, str, str]:
    configured = settings.model_copy(update={"database_url": db.url})
    result = CliRunner().invoke(app, ["report", *args], obj=configured, prog_name="outreach")
    return result.exit_code, result.stdout, result.stderr


def test_report_json_shows_the_planted_counts(
    settings: Settings, db: Database, planted: list[Planted]
) -> None:
    code, out, _ = report(settings, db, EVENT, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["yes"] == 93 and data["totals"]["attended"] == 72
    rows = {row["value"]: row["counts"] for row in data["by_group"]["ethnicity"]}
    assert rows["Black Caribbean"]["yes"] == "<5"
    assert rows["White British"]["yes"] == 40 and rows["Polish"]["yes"] == "*"
    assert "wheelchair" not in out  # access needs are counted, never shown
    answers = data["answers"]
    assert len(answers) == sum(len(p.answers) for p in planted)
    assert {a["person"] for a in answers}.isdisjoint({str(i) for i in range(1, 201)})
    assert "contact_id" not in answers[0]


def test_report_csv_is_pseudonymous_and_safe_in_a_spreadsheet(
    settings: Settings, db: Database, planted: list[Planted]
) -> None:
    code, out, _ = report(settings, db, EVENT, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    texts = [r["value"] for r in rows if r["question"] == "change"]
    quoted = sum(1 for p in planted if QUOTE_TAG in p.tags)
    assert sum(1 for t in texts if t) == quoted  # others' words are left out
    assert all(t.startswith("'=") for t in texts if t)  # no formula runs
    assert not any(r["value"] == "wheelchair space" for r in rows)
    people = {r["person"] for r in rows}
    answerers = sum(1 for p in planted if p.answers)
    assert len(people) == answerers  # one pseudonym a person, whatever they answered
    assert all(len(p) == 16 for p in people) and not people & {str(i) for i in range(1, 201)}
    assert "+4475" not in out


def test_report_floip_is_a_results_package_per_flow(
    settings: Settings, db: Database, planted: list[Planted]
) -> None:
    code, out, _ = report(settings, db, EVENT, "--format", "floip")
    assert code == 0
    packages = {p["name"]: p for p in json.loads(out)}
    survey = packages[SURVEY]
    assert survey["profile"] == "flow-results-package"
    resource = survey["resources"][0]
    assert set(resource["schema"]["questions"]) == {"rating", "helped", "change"}
    assert resource["schema"]["questions"]["rating"]["type"] == "numeric"
    assert len(resource["data"]) == 72 * 3


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_report_unknown_event_or_format_is_one_line(
    settings: Settings, db: Database, planted: list[Planted]
) -> None:
    code, _, err = report(settings, db, "nope", "--format", "json")
    assert code == 1 and err.strip().count("\n") == 0 and "no event called 'nope'" in err
    code, _, err = report(settings, db, EVENT, "--format", "docx")
    assert code == 1 and "unknown format 'docx'" in err and err.strip().count("\n") == 0


def test_pages_numbers_are_kept_only_as_long_as_asked(
    db: Database, planted: list[Planted], t0: datetime
) -> None:
    from datetime import timedelta

    from outreach.clock import ManualClock

    clock = ManualClock(t0)
    results = Results(db, clock=clock, fresh_for=timedelta(seconds=30))
    assert results.event(EVENT).totals["invited"] == 200
    plant_event(db, EVENT, [Planted(status="yes")] * 10, at=t0, number_from=1000)
    assert results.event(EVENT).totals["invited"] == 200  # kept
    clock.advance(timedelta(seconds=30))
    assert results.event(EVENT).totals["invited"] == 210
    plant_event(db, EVENT, [Planted(status="no")] * 10, at=t0, number_from=2000)
    results.forget(EVENT)
    assert results.event(EVENT).totals["invited"] == 220
    assert Results(db).event(EVENT).totals["invited"] == 220  # a report counts afresh


def test_a_rating_with_a_hidden_count_has_no_average(db: Database, t0: datetime) -> None:
    people = [
        Planted(status="yes", answers=[(SURVEY, "rating", "rating", "rating", score)])
        for score in [5] * 10 + [4] * 6 + [1] * 2 + [2] * 3
    ]
    plant_event(db, EVENT, people, at=t0)
    rating = {q.name: q for q in Results(db).event(EVENT).questions}["rating"]
    assert {o.option: o.count for o in rating.options} == {
        "1": HIDDEN,
        "2": HIDDEN,
        "4": 6,
        "5": 10,
    }
    assert rating.mean is None  # 21 answers and the mean would give the 1s and 2s away
