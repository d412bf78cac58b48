"""The words that always work, whatever conversation is running: stop, start, help, a person
please, language.

The words are every language's (each catalog's ``words: stop`` entry and so on; see
``outreach.i18n.vocabulary``), because people switch languages and a Welsh speaker may text
STOP; where two languages give one word different commands, the person's language decides. A
message asks for a command when it is the command and nothing else but polite or empty words
("stop please", "please stop", "STOP STOP", "stop it now", "remove me from your list, thanks").
For an opt-out a sentence of its own is enough ("No thanks. Stop texting me."), because
missing a real opt-out is worse than anything else here. A longer message that merely contains
a stop word ("I can't stop thinking about it") opts nobody out, but is flagged for a person to
read; words that only mention it in passing ("the bus stop is far") are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from outreach.i18n.phrases import AMBIGUOUS, Hit, Phrases, Tolerance
from outreach.i18n.text import BOUNDARY, normalize, tokens
from outreach.i18n.vocabulary import COMMANDS, Vocabulary

Command = Literal["stop", "start", "help", "human", "lang"]
_COMMAND_OF: dict[str, Command] = {
    "stop": "stop",
    "start": "start",
    "help": "help",
    "human": "human",
    "language": "lang",
}
_PASSING = "passing"  # a stop word used in passing: "bus stop"
_TYPO_TOLERANCE = Tolerance()
_SHORT_MESSAGE = 8


@dataclass(frozen=True, slots=True)
class Keyword:
    """What a message asks for; ``language`` is the language whose word it was."""

    command: Command
    language: str


@dataclass(frozen=True, slots=True)
class PossibleOptOut:
    """A longer message containing a stop word: not an opt-out, but a human should look."""

    word: str


class Keywords:
    """Classifies messages by the words of every language in ``vocabulary``.

    >>> keywords = Keywords(Vocabulary())
    >>> keywords.classify(" Stop. ")
    Keyword(command='stop', language='en')
    >>> keywords.classify("please stop texting me")
    Keyword(command='stop', language='en')
    >>> keywords.classify("Not coming. Remove me from your list!")
    Keyword(command='stop', language='en')
    >>> keywords.classify("I can't stop thinking about it")
    PossibleOptOut(word='stop')
    >>> keywords.classify("the bus stop is far") is None, keywords.classify("yes please") is None
    (True, True)
    >>> keywords.classify("Can I speak to someone please?")
    Keyword(command='human', language='en')
    """

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.languages = vocabulary.languages()
        self.filler = Phrases()
        for language in self.languages:
            self.filler.add_all(_words(vocabulary, language, "filler"), "filler", rank=0)

    def classify(self, text: str, language: str = "en") -> Keyword | PossibleOptOut | None:
        """What an incoming message asks of the system, if anything, for a person who writes
        in ``language``."""
        words = tokens(text)
        if not words:
            return None
        index, languages = self._index(language)
        hits, rest = index.scan(words)
        commands = [h for h in hits if h.meaning not in (_PASSING, AMBIGUOUS)]
        if not commands:
            return self._misspelt_stop(words, rest, index)
        negators = self._negators(language)
        if self._only_filler(words, rest, negators) and not any(
            h.meaning == AMBIGUOUS for h in hits
        ):
            chosen = _choose(commands)
            return Keyword(_COMMAND_OF[chosen.meaning], languages[words[chosen.start : chosen.end]])
        stops = [h for h in commands if h.meaning == "stop"]
        if not stops:
            return None
        for clause in _clauses(words):
            clause_hits, clause_rest = index.scan(clause)
            if (
                clause_hits
                and all(h.meaning == "stop" for h in clause_hits)
                and self._only_filler(clause, clause_rest, negators)
            ):
                first = clause_hits[0]
                return Keyword("stop", languages[clause[first.start : first.end]])
        return PossibleOptOut(" ".join(words[stops[0].start : stops[0].end]))

    def _misspelt_stop(
        self, words: Sequence[str], rest: Sequence[int], index: Phrases
    ) -> PossibleOptOut | None:
        """A short message with a word a typo away from a stop word ("unsubscibe"): nobody
        is opted out on a guess, but a person reads it."""
        if len(rest) > _SHORT_MESSAGE:
            return None
        for i in rest:
            word = words[i]
            if (
                len(word) > _TYPO_TOLERANCE.min_length
                and index.near(word, _TYPO_TOLERANCE) == "stop"
            ):
                return PossibleOptOut(word)
        return None

    def all_words(self) -> frozenset[str]:
        """Every command word and phrase of every language, as ``normalize`` gives it (flows
        may not claim them as keywords)."""
        index, _ = self._index("en")
        return frozenset(" ".join(p) for p, m in index.entries() if m in _COMMAND_OF)

    def _only_filler(
        self, words: Sequence[str], rest: Sequence[int], negators: frozenset[str]
    ) -> bool:
        """Whether the words at ``rest`` are all polite or empty ones (or unknown emoji), and
        none of them a "not" in the person's language or English ("no stop" in Spanish)."""
        leftover = [words[i] for i in rest]
        if not leftover:
            return True
        if any(word in negators for word in leftover):
            return False
        _, unknown = self.filler.scan(leftover)
        return all(not any(ch.isalnum() for ch in leftover[i]) for i in unknown)

    def _negators(self, language: str) -> frozenset[str]:
        return _negators(self.vocabulary, language)

    def _index(self, language: str) -> tuple[Phrases, dict[tuple[str, ...], str]]:
        return _command_index(self.vocabulary, tuple(self.languages), language)


@lru_cache(maxsize=64)
def _command_index(
    vocabulary: Vocabulary, languages: tuple[str, ...], language: str
) -> tuple[Phrases, dict[tuple[str, ...], str]]:
    """The command words: the person's language first, then English, then every other
    language; and which language each first word came from."""
    base = language.replace("-", "_").split("_", 1)[0]
    order = [base, "en", *(tag for tag in languages if tag not in (base, "en"))]
    index = Phrases()
    origin = _Languages()
    index.add_all(_passing(vocabulary), _PASSING, rank=0)
    for rank, tag in enumerate(order, start=1):
        for meaning in COMMANDS:
            for phrase in _words(vocabulary, tag, meaning):
                index.add(phrase, meaning, rank=rank)
                words = tuple(t for t in tokens(phrase) if t != BOUNDARY)
                origin.setdefault(words, tag)
                origin.setdefault(tuple(w.replace("'", "") for w in words), tag)
    return index, origin


class _Languages(dict[tuple[str, ...], str]):
    """The language each command phrase came from (English for a spelling it does not know,
    such as "stopppp")."""

    def __missing__(self, key: tuple[str, ...]) -> str:
        return "en"


@lru_cache(maxsize=64)
def _negators(vocabulary: Vocabulary, language: str) -> frozenset[str]:
    """The single words for "not" in the person's language and in English."""
    lists = (vocabulary.words(language, "not"), vocabulary.english("not"))
    return frozenset(
        found[0] for entries in lists for w in entries if len(found := normalize(w).split()) == 1
    )


def _words(vocabulary: Vocabulary, language: str, meaning: str) -> tuple[str, ...]:
    return vocabulary.english(meaning) if language == "en" else vocabulary.words(language, meaning)


def _passing(vocabulary: Vocabulary) -> list[str]:
    return [w for tag in vocabulary.languages() for w in _words(vocabulary, tag, "passing")]


def _choose(hits: Sequence[Hit]) -> Hit:
    """Of several commands in one message, an opt-out comes first."""
    return next((h for h in hits if h.meaning == "stop"), hits[0])


def _clauses(words: Sequence[str]) -> list[tuple[str, ...]]:
    clauses: list[tuple[str, ...]] = []
    current: list[str] = []
    for word in words:
        if word == BOUNDARY:
            if current:
                clauses.append(tuple(current))
            current = []
        else:
            current.append(word)
    if current:
        clauses.append(tuple(current))
    return clauses
