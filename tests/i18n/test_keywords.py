"""STOP and the other commands in every shipped language, in the forms people send them."""

from __future__ import annotations

from functools import cache

import pytest

from outreach.contacts.keywords import Keyword, Keywords, PossibleOptOut
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from tests.conftest import ROOT

VOCABULARY = Vocabulary(Catalogs(ROOT / "locales"))
LANGUAGES = VOCABULARY.languages()


@cache
def keywords() -> Keywords:
    return Keywords(VOCABULARY)


def words(language: str, meaning: str) -> tuple[str, ...]:
    return VOCABULARY.words(language, meaning) or VOCABULARY.english(meaning)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_stop_word_of_a_language_opts_out_alone_politely_and_repeated(
    language: str,
) -> None:
    polite = words(language, "filler")[0]
    for word in words(language, "stop"):
        for form in (word, f"{word} {polite}", f"{polite} {word}", f"{word} {word}", f"{word}!!"):
            found = keywords().classify(form, language)
            assert found == Keyword("stop", language), f"{form!r}: {found}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stop_word_after_not_is_only_flagged(language: str) -> None:
    for negator in words(language, "not"):
        for word in words(language, "stop")[:3]:
            found = keywords().classify(f"{negator} {word}", language)
            assert not isinstance(found, Keyword), f"{negator} {word!r}: {found}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("meaning", "command"),
    [("start", "start"), ("help", "help"), ("human", "human"), ("language", "lang")],
)
def test_every_command_word_works_in_its_language(
    language: str, meaning: str, command: str
) -> None:
    for word in words(language, meaning):
        assert keywords().classify(word, language) == Keyword(command, language), word  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the bus stop is far", None),
        ("Is there a bus stop nearby?", None),
        ("I can't stop thinking about it", PossibleOptOut("stop")),
        ("please don't stop sending these", PossibleOptOut("stop sending")),
        ("unsubscibe", PossibleOptOut("unsubscibe")),  # a typo: a person reads it
        ("No thanks. Please stop texting me.", Keyword("stop", "en")),
        ("Not coming. Remove me from your list!", Keyword("stop", "en")),
        ("STOP. HELP", Keyword("stop", "en")),  # an opt-out comes first
        ("yes please", None),
        ("help me please", Keyword("help", "en")),
        ("Can someone call me?", Keyword("human", "en")),
    ],
)
def test_messages_that_mention_a_command(text: str, expected: object) -> None:
    assert keywords().classify(text) == expected


def test_the_persons_language_decides_a_word_two_languages_share() -> None:
    # "Stop" is a stop word in English and in Welsh alike: whose word it is follows the person.
    assert keywords().classify("stop", "cy") == Keyword("stop", "cy")
    assert keywords().classify("stop", "en") == Keyword("stop", "en")
