"""Statements step: how a vote or a statement of one's own is read from a reply.

A person is shown one statement at a time and replies 1 (agree), 2 (disagree) or 3 (pass), or
the words for those in their language (the catalogs' ``words: agree``, ``words: disagree`` and
``words: pass``); a Slack button carries the option and the statement's id, so a press on an
older statement changes nothing. A reply that starts with a word for "new" (``words: new``:
NEW, ADD...) followed by words is a statement of their own.

>>> reader = VoteReader(Vocabulary())
>>> [reader.vote(t, "en") for t in ("1", "I agree", "don't agree", "dunno", "hmm")]
['agree', 'agree', 'disagree', 'pass', None]
>>> reader.own("NEW: buses should run later", "en"), reader.own("new", "en")
('buses should run later', '')
>>> reader.own("agree", "en") is None
True
>>> button("disagree", 12), read_button("disagree:12")
('disagree:12', ('disagree', 12))
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, cast

from outreach.flows import matching
from outreach.i18n.catalogs import N_, Translate, english
from outreach.i18n.phrases import AMBIGUOUS
from outreach.i18n.text import normalize
from outreach.i18n.vocabulary import Vocabulary

VoteKind = Literal["agree", "disagree", "pass"]
OPTIONS: tuple[VoteKind, ...] = ("agree", "disagree", "pass")

# System texts (English is the message id; catalogs translate them).
LABELS: dict[VoteKind, str] = {
    "agree": N_("Agree"),
    "disagree": N_("Disagree"),
    "pass": N_("Pass"),
}
PROMPT = N_("Do you agree? “{statement}”")
HINT = N_("Please reply 1 to agree, 2 to disagree or 3 to pass.")
HINT_OWN = N_(
    "Please reply 1 to agree, 2 to disagree or 3 to pass. To add a statement of your own, "
    "reply NEW and then your statement."
)
OWN_HOW = N_("To add a statement of your own, reply NEW and then your statement.")
OWN_THANKS = N_(
    "Thank you. A coordinator will read your statement before others are asked about it."
)
OWN_TOO_LONG = N_("Please keep your statement under {max} characters.")
OWN_ENOUGH = N_("Thank you, we have your statements. Please vote on this one.")
OWN_PER_STEP = 3  # statements of their own one person may send at one step
OWN_MAX_LENGTH = 280


def button(vote: str, statement: int) -> str:
    """The value a button for ``vote`` on ``statement`` carries."""
    return f"{vote}:{statement}"


def read_button(value: str) -> tuple[VoteKind, int] | None:
    """The vote and statement a button's value names, or None if it names none."""
    vote, _, number = value.partition(":")
    if vote not in OPTIONS or not number.isdigit():
        return None
    return vote, int(number)


class VoteReader:
    """Understands votes and statements of one's own, per language (built once each)."""

    def __init__(self, vocabulary: Vocabulary, translate: Translate = english) -> None:
        self.vocabulary = vocabulary
        self.translate = translate

    def vote(self, text: str, language: str) -> VoteKind | None:
        """The vote a reply means, or None if it is not clearly one."""
        found = _choices(self, language).understand(text)
        return None if found in (None, AMBIGUOUS) else cast(VoteKind, found)

    def own(self, text: str, language: str) -> str | None:
        """The statement of their own a reply sends (empty if the word for "new" stands
        alone), or None if the reply is not one."""
        folded = normalize(text)
        words = {
            normalize(w)
            for w in (*self.vocabulary.english("new"), *self.vocabulary.words(language, "new"))
        }
        for word in sorted(words, key=len, reverse=True):
            if word and (folded == word or folded.startswith(word + " ")):
                # Keep the person's own spelling: drop as many words as the keyword has.
                rest = text.strip().split(None, len(word.split()))
                own = rest[len(word.split())] if len(rest) > len(word.split()) else ""
                return " ".join(own.lstrip(":-–, ").split())
        return None


@lru_cache(maxsize=256)
def _choices(reader: VoteReader, language: str) -> matching.Choices:
    options = [
        matching.OptionWords(
            key,
            None,
            (key, LABELS[key], *reader.vocabulary.english(key)),
            (reader.translate(language, LABELS[key]), *reader.vocabulary.words(language, key)),
        )
        for key in OPTIONS
    ]
    return matching.Choices(options, language=language, vocabulary=reader.vocabulary)
