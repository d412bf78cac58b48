"""The statements step, straight through the engine: one statement at a time, votes in every
language and by button, a statement of one's own, and moving on when done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache

import pytest

from outreach.flows.engine import Engine
from outreach.flows.loader import load_text
from outreach.flows.state import (
    Button,
    Contact,
    EndSession,
    Offer,
    Outcome,
    Propose,
    Reply,
    SendMessage,
    Session,
    Start,
    Vote,
)
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.services.flows import load_flows
from outreach.settings import Settings
from tests.conftest import ROOT

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
EVENT = {"id": "bc-march", "topic": "urgent care"}
FLOW = """
version: 1
flow: views
description: Statements, then a thank-you.
steps:
  - id: vote
    statements: {count: 2, own: %s}
    next: thanks
  - id: thanks
    send: Thank you.
"""
LANGUAGES = ("en", "cy", "pl", "ro", "ur", "bn", "ar", "pa", "pt", "es", "gu", "it")


@cache
def shipped() -> Engine:
    catalogs = Catalogs(ROOT / "locales")
    flows = load_flows(
        Settings(flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None)
    )
    return Engine(flows, translate=catalogs.gettext, vocabulary=Vocabulary(catalogs))


def views(*, own: bool = True) -> Engine:
    flow = load_text(FLOW % ("true" if own else "false"), path="views.yaml")
    return Engine({flow.id: flow})


def offers(*ids: int) -> dict[str, tuple[Offer, ...]]:
    return {"bc-march": tuple(Offer(i, f"Statement {i}.") for i in ids)}


def run(
    engine: Engine,
    replies: Sequence[str],
    *,
    flow: str = "views",
    language: str = "en",
    pool: Sequence[int] = (1, 2, 3),
    buttons: bool = False,
) -> list[Outcome]:
    """Start the flow and reply; the offers shrink as the store's would after each vote."""
    contact = Contact(language=language)
    left = list(pool)
    common = {"at": NOW, "contact": contact, "event": EVENT}
    outcome = engine.handle(None, Start(flow=flow, offers=offers(*left), **common))
    outcomes = [outcome]
    for text in replies:
        session = Session.from_json(outcome.session.to_json()) if outcome.session else None
        trigger = (
            Button(value=text, offers=offers(*left), **common)
            if buttons
            else Reply(text=text, offers=offers(*left), **common)
        )
        outcome = engine.handle(session, trigger)
        outcomes.append(outcome)
        for action in outcome.actions:
            if isinstance(action, Vote):
                left.remove(action.statement)
    return outcomes


def actions(outcome: Outcome, kind: type) -> list:
    return [a for a in outcome.actions if isinstance(a, kind)]


def test_votes_one_statement_at_a_time_then_moves_on_after_count() -> None:
    first, second, third = run(views(), ["1", "disagree"])
    assert [m.content.text for m in actions(first, SendMessage)] == ["Do you agree? “Statement 1.”"]
    assert [c.label for c in actions(first, SendMessage)[0].content.choices] == [
        "Agree",
        "Disagree",
        "Pass",
    ]
    assert actions(second, Vote) == [Vote("bc-march", 1, "agree")]
    assert actions(third, Vote) == [Vote("bc-march", 2, "disagree")]
    assert [m.content.text for m in actions(third, SendMessage)] == ["Thank you."]
    assert third.session is not None and third.session.status == "ended"


def test_with_no_statements_left_the_step_is_passed_over() -> None:
    (outcome,) = run(views(), [], pool=())
    assert [m.content.text for m in actions(outcome, SendMessage)] == ["Thank you."]
    assert actions(outcome, EndSession)[0].reason == "completed"


def test_button_on_an_earlier_statement_changes_nothing() -> None:
    _, voted, stale = run(views(), ["agree:1", "pass:1"], buttons=True)
    assert actions(voted, Vote) == [Vote("bc-march", 1, "agree")]
    assert stale.actions == () and stale.session is not None and stale.session.step == "vote"


def test_own_statement_is_proposed_thanked_and_the_same_statement_asked_again() -> None:
    _, proposed = run(views(), ["NEW: The bus should run   later"])
    assert actions(proposed, Propose) == [Propose("bc-march", "The bus should run later")]
    texts = [m.content.text for m in actions(proposed, SendMessage)]
    assert texts[0].startswith("Thank you. A coordinator will read your statement")
    assert texts[1] == "Do you agree? “Statement 1.”"
    assert actions(proposed, Vote) == []


def test_own_statements_are_limited_per_step() -> None:
    outcomes = run(views(), ["NEW idea 0", "NEW idea 1", "1", "NEW idea 2", "NEW idea 3"])
    assert [len(actions(o, Propose)) for o in outcomes[1:]] == [1, 1, 0, 1, 0]
    assert "we have your statements" in actions(outcomes[-1], SendMessage)[0].content.text


def test_own_statement_is_not_taken_when_the_step_does_not_offer_it() -> None:
    _, reply = run(views(own=False), ["NEW The bus should run later"])
    assert actions(reply, Propose) == []
    assert actions(reply, SendMessage)[0].content.text == (
        "Please reply 1 to agree, 2 to disagree or 3 to pass."
    )


def test_unclear_replies_are_asked_again_then_the_conversation_ends() -> None:
    outcomes = run(views(), ["hmm", "what", "eh"])
    assert [o.actions[0].content.kind for o in outcomes[1:3]] == ["hint", "hint"]
    assert actions(outcomes[-1], EndSession)[0].reason == "no-valid-answer"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_votes_with_its_own_words_and_reads_its_own_prompt(language: str) -> None:
    engine = shipped()
    words = {
        vote: engine.vocabulary.words(language, vote) or engine.vocabulary.english(vote)
        for vote in ("agree", "disagree", "pass")
    }
    first = run(engine, [], flow="common-ground", language=language)[0]
    question = actions(first, SendMessage)[-1].content
    if language != "en":
        assert "Do you agree" not in question.text  # translated, not English
    for vote, said in words.items():
        replies = [said[0]]
        outcome = run(engine, replies, flow="common-ground", language=language)[-1]
        assert [v.vote for v in actions(outcome, Vote)] == [vote], (language, said[0])
