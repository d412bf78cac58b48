"""Natural replies in every shipped language, understood as the person meant them.

The corpus is ``replies.yaml``: each reply with where it arrives and what it must mean. Each
reply goes through what a real one goes through: the keyword commands first, then the engine
waiting at the question, translating and matching with the shipped catalogs. A reply may be
asked again when it should have been understood (that lowers the rate, which must stay at 95%
or more), but never read as something else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from outreach.cli import app
from outreach.contacts.keywords import Keyword, Keywords, PossibleOptOut
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact, Reply, SaveAnswer, SendMessage, Session, Start
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.services.flows import load_flows
from outreach.settings import Settings
from tests.conftest import ROOT

CORPUS = yaml.safe_load((ROOT / "tests/i18n/replies.yaml").read_text(encoding="utf-8"))
ASK_AGAIN = "ask again"
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
# Where each kind of reply arrives: the flow, and the replies that lead to the question.
QUESTIONS = {
    "invite": ("big-conversation-invite", []),
    "still": ("event-reminder", []),
    "rating": ("post-event-survey", []),
    "helped": ("post-event-survey", ["4"]),
}


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary(Catalogs(ROOT / "locales"))


@cache
def engine() -> Engine:
    flows: dict[str, FlowDefinition] = load_flows(
        Settings(flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None)
    )
    catalogs = vocabulary().catalogs
    assert catalogs is not None
    return Engine(flows, translate=catalogs.gettext, vocabulary=vocabulary())


@cache
def keywords() -> Keywords:
    return Keywords(vocabulary())


@cache
def waiting(ask: str, language: str) -> Session:
    """A session waiting at the question, as the engine left it."""
    flow, before = QUESTIONS[ask]
    contact = Contact(language=language, fields={"first_name": "Sam"})
    event = demo_event(NOW)
    session = engine().handle(None, Start(flow=flow, at=NOW, contact=contact, event=event)).session
    for text in before:
        reply = Reply(text=text, at=NOW, contact=contact, event=event)
        session = engine().handle(session, reply).session
    assert session is not None and session.active
    return session


def understood(case: dict[str, Any]) -> Any:
    """What the service makes of the reply: a command, an answer, "kept" or "ask again"."""
    language, ask, text = case["lang"], case["ask"], case["reply"]
    found = keywords().classify(text, language)
    if ask == "any":
        if isinstance(found, Keyword):
            return found.command
        return "flag" if isinstance(found, PossibleOptOut) else "none"
    if isinstance(found, Keyword):
        return found.command
    contact = Contact(language=language, fields={"first_name": "Sam"})
    reply = Reply(text=text, at=NOW, contact=contact, event=demo_event(NOW))
    outcome = engine().handle(waiting(ask, language), reply)
    saved = [a for a in outcome.actions if isinstance(a, SaveAnswer)]
    if not saved:
        hints = [a for a in outcome.actions if isinstance(a, SendMessage)]
        assert hints and hints[0].content.kind == "hint", "not understood, so asked again"
        return ASK_AGAIN
    value = saved[0].value
    if ask == "helped" and value not in ("place", "support", "people", "payment", "other"):
        assert value == " ".join(text.split())  # their own words, as they wrote them
        return "kept"
    return value


def case_id(case: dict[str, Any]) -> str:
    return f"{case['lang']}-{case['ask']}-{case['reply']}"


def test_corpus_covers_every_shipped_language_with_300_replies() -> None:
    assert len(CORPUS) >= 300
    assert {c["lang"] for c in CORPUS} == set(vocabulary().languages())


@pytest.mark.parametrize("case", CORPUS, ids=[case_id(c) for c in CORPUS])
def test_reply_is_never_misread(case: dict[str, Any]) -> None:
    """Understood as meant, or (when it was meant as something) at worst asked again."""
    got = understood(case)
    if case["means"] == ASK_AGAIN or case["ask"] == "any":
        assert got == case["means"]
    else:
        assert got in (case["means"], ASK_AGAIN), f"read as {got!r}"


def results() -> Iterator[tuple[dict[str, Any], Any]]:
    for case in CORPUS:
        yield case, understood(case)


def test_at_least_95_percent_of_replies_are_understood(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = list(results())
    right = [case for case, got in outcomes if got == case["means"]]
    rate = len(right) / len(outcomes)
    missed = [f"  {case_id(c)}: {got!r}" for c, got in outcomes if got != c["means"]]
    with capsys.disabled():
        print(f"\n{len(right)} of {len(outcomes)} replies understood as meant ({rate:.1%})")
        print("\n".join(missed))
    assert rate >= 0.95


@pytest.mark.parametrize(
    ("language", "reply", "rsvp"),
    [("cy", "ie", "yes"), ("pl", "tak", "yes"), ("pl", "no", "yes"), ("ar", "١", "yes")],
)
def test_simulating_the_invitation_understands_the_persons_own_words(
    settings: Settings, language: str, reply: str, rsvp: str
) -> None:
    """``outreach flows simulate big-conversation-invite --lang cy`` with "ie", and so on:
    Polish "no" (colloquially "yeah") is never taken for a decline."""
    result = CliRunner().invoke(
        app,
        ["flows", "simulate", "big-conversation-invite", "--lang", language, "--json"],
        input=f"{reply}\n",
        obj=settings,
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["answers"] == {"rsvp": rsvp}
    assert [e["text"] for e in outcome["transcript"] if e["who"] == "system"] == [f"rsvp {rsvp}"]


@pytest.mark.parametrize("language", sorted(vocabulary().languages()))
def test_a_coordinators_english_match_words_work_in_every_language(language: str) -> None:
    """Unless the person's own language gives the word another meaning (Polish "no")."""
    step = engine().flows["big-conversation-invite"].steps["invite"]
    assert step.ask is not None and step.ask.choice is not None
    understanding = engine().understanding("big-conversation-invite", step, language)
    own = {
        meaning: {w.lower() for w in vocabulary().words(language, meaning)}
        for meaning in ("yes", "no", "maybe", "more")
    }
    for key, option in step.ask.choice.items():
        for word in option.match:
            claimed = [m for m, words in own.items() if word in words and m != key]
            assert understanding.understand(word) == (claimed[0] if claimed else key), word


@pytest.mark.parametrize(
    "digits", ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "০১২৩৪৫৬৭৮৯", "੦੧੨੩੪੫੬੭੮੯", "૦૧૨૩૪૫૬૭૮૯"]
)
def test_option_numbers_are_read_in_any_script(digits: str) -> None:
    step = engine().flows["big-conversation-invite"].steps["invite"]
    assert step.ask is not None and step.ask.choice is not None
    for language in ("en", "ar", "ur", "bn", "pa", "gu"):
        understanding = engine().understanding("big-conversation-invite", step, language)
        for number, key in enumerate(step.ask.choice, start=1):
            assert understanding.understand(f" {digits[number]}. ") == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stop " * 2000, "stop"),  # long, but nothing else: honoured
        ("the bus stop " * 400 + "yes", "none"),  # long: never a keyword
        ("st\u200bop", "stop"),  # a zero-width space does not hide it
        ("\u202estop\u202c", "stop"),  # nor direction marks
        ("💩" * 500, "none"),
        ("", "none"),
        ("\x00\x01\x02", "none"),
    ],
)
def test_hostile_messages_are_classified_without_error(text: str, expected: str) -> None:
    found = keywords().classify(text, "en")
    got = found.command if isinstance(found, Keyword) else "none"
    assert got == expected


@pytest.mark.parametrize(
    "text", ["a" * 5000, "yes " * 1500, "١" * 3000, "👍" * 2000, "ਹਾਂ" * 1000, "\u0301" * 4000]
)
def test_hostile_replies_get_an_answer_or_are_asked_again(text: str) -> None:
    for language in ("en", "pa"):
        assert understood({"lang": language, "ask": "invite", "reply": text}) in (
            "yes",
            ASK_AGAIN,
        )
