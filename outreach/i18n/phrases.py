"""Finding known words and phrases in a reply: the longest first, then near misses.

A ``Phrases`` index maps phrases (as ``tokens`` of ``outreach.i18n.text``) to meanings. It is
built in order of precedence: what is added first wins, and two meanings given for one phrase at
the same precedence make it ``AMBIGUOUS`` (a reply using it is asked again, never guessed).
Scanning a reply takes the longest phrase at each place ("not sure" before "sure", "can't come"
before "come"), so the words around an answer need no special rules. Typos are forgiven with
rapidfuzz's edit distances, within a tolerance, and only when one meaning is close.

>>> phrases = Phrases()
>>> for word, meaning in [("yes", "yes"), ("sure", "yes"), ("not sure", "maybe"), ("no", "no")]:
...     phrases.add(word, meaning, rank=1)
>>> hits, rest = phrases.scan(tokens("I'm not sure, yesss"))
>>> [(h.meaning, h.start) for h in hits], rest
([('maybe', 1), ('yes', 4)], [0])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from outreach.i18n.text import BOUNDARY, tokens

AMBIGUOUS = "?"
_LONGEST_TYPO = 24  # longer "words" are not typos of any word we know
"""The meaning of a phrase that two meanings claim equally."""

K = TypeVar("K", str, tuple[str, ...])
_REPEATS = re.compile(r"(.)\1+")


def squeeze(word: str) -> str:
    """``word`` with each run of one letter written once ("yesss", "nooo").

    >>> squeeze("yeeesss"), squeeze("ok")
    ('yes', 'ok')
    """
    return _REPEATS.sub(r"\1", word)


def loose(word: str) -> str:
    """``word`` as it is compared when it is not known exactly: letters written once, and
    without the Arabic article, which is written as part of the word ("المترجم", "مترجم").

    >>> loose("المزيد") == loose("مزيد"), loose("noooo")
    (True, 'no')
    """
    if word.startswith("\u0627\u0644") and len(word) > 4:
        word = word[2:]
    return squeeze(word)


@dataclass(frozen=True, slots=True)
class Hit:
    """A phrase found in a reply: ``tokens[start:end]`` means ``meaning``."""

    start: int
    end: int
    meaning: str
    near: bool = False  # found by forgiving a typo


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a typed word may be from a known one and still count as it.

    Words shorter than ``min_length`` must be exact; up to ``long_from`` letters one edit (a
    letter wrong, missing, extra or two swapped) is forgiven and the first letter must be
    right; longer words may have two. ``phrase_score`` is the rapidfuzz ratio (0-100) a
    whole short reply needs to count as a known phrase.
    """

    min_length: int = 4
    long_from: int = 8
    phrase_score: float = 88.0
    margin: float = 8.0  # another meaning this close to the best makes the reply unclear

    def edits(self, word: str) -> int:
        """How many edits a word may have; a short one only two letters swapped ("yse")."""
        if len(word) < self.min_length:
            return 1 if len(word) == self.min_length - 1 else 0
        return 1 if len(word) < self.long_from else 2


class Phrases:
    """Phrases and their meanings, for scanning replies."""

    def __init__(self) -> None:
        self._meanings: dict[tuple[str, ...], str] = {}
        self._ranks: dict[tuple[str, ...], int] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}  # by first word: lengths, longest first
        self._loose: dict[str, str] = {}
        self._loose_ranks: dict[str, int] = {}
        self._by_length: dict[int, list[tuple[str, str]]] | None = None

    def add(self, phrase: str, meaning: str, *, rank: int) -> None:
        """Add ``phrase``; a lower ``rank`` takes precedence over a higher one."""
        words = tuple(t for t in tokens(phrase) if t != BOUNDARY)
        if not words:
            return
        self._put(words, meaning, rank)
        bare = tuple(w.replace("'", "") for w in words)
        if bare != words:  # "can't" is also typed "cant"
            self._put(bare, meaning, rank)

    def add_all(self, phrases: Iterable[str], meaning: str, *, rank: int) -> None:
        for phrase in phrases:
            self.add(phrase, meaning, rank=rank)

    def _put(self, words: tuple[str, ...], meaning: str, rank: int) -> None:
        _claim(self._meanings, self._ranks, words, meaning, rank)
        lengths = set(self._lengths.get(words[0], ())) | {len(words)}
        self._lengths[words[0]] = tuple(sorted(lengths, reverse=True))
        if len(words) == 1:
            _claim(self._loose, self._loose_ranks, loose(words[0]), meaning, rank)
        self._by_length = None

    def get(self, phrase: str) -> str | None:
        """The meaning of exactly ``phrase``, if it is known."""
        return self._meanings.get(tuple(t for t in tokens(phrase) if t != BOUNDARY))

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and (word,) in self._meanings

    def meanings(self) -> set[str]:
        return set(self._meanings.values())

    def entries(self) -> Iterator[tuple[tuple[str, ...], str]]:
        yield from self._meanings.items()

    def scan(self, words: Sequence[str]) -> tuple[list[Hit], list[int]]:
        """The phrases in ``words``, longest first and left to right, and the positions of
        the words that are in none (boundaries aside). Phrases never cross a boundary."""
        hits: list[Hit] = []
        rest: list[int] = []
        i, count = 0, len(words)
        while i < count:
            word = words[i]
            if word == BOUNDARY:
                i += 1
                continue
            for length in self._lengths.get(word, ()):
                if i + length <= count:
                    meaning = self._meanings.get(tuple(words[i : i + length]))
                    if meaning is not None:
                        hits.append(Hit(i, i + length, meaning))
                        i += length
                        break
            else:
                meaning = self._loose.get(loose(word))
                if meaning is not None:
                    hits.append(Hit(i, i + 1, meaning))
                else:
                    rest.append(i)
                i += 1
        return hits, rest

    def near(self, word: str, tolerance: Tolerance) -> str | None:
        """The meaning of the known single word ``word`` is a typo of, if only one meaning is
        that close (``AMBIGUOUS`` if two are)."""
        edits = tolerance.edits(word)
        if not edits or len(word) > _LONGEST_TYPO:
            return None
        by_length = self._single_words()
        close = {
            meaning
            for length in range(len(word) - edits, len(word) + edits + 1)
            for candidate, meaning in by_length.get(length, ())
            if (edits > 1 or candidate[0] in word[:2])  # most typos keep the first letter
            and DamerauLevenshtein.distance(word, candidate, score_cutoff=edits) <= edits
            and _plausible(candidate, word, edits, tolerance)
        }
        return _one(close)

    def near_phrase(self, words: Sequence[str], tolerance: Tolerance) -> str | None:
        """The meaning of the known phrase a whole short reply is a typo of, if one meaning
        is clearly closest."""
        text = " ".join(w for w in words if w != BOUNDARY)
        phrases = [" ".join(p) for p in self._meanings if len(p) > 1]
        if len(text) < 2 * tolerance.min_length or not phrases:
            return None
        found = process.extract(
            text,
            phrases,
            scorer=fuzz.ratio,
            score_cutoff=tolerance.phrase_score - tolerance.margin,
            limit=None,
        )
        if not found:
            return None
        best = max(score for _, score, _ in found)
        if best < tolerance.phrase_score:
            return None
        close = {
            self._meanings[tuple(phrases[index].split(" "))]
            for _, score, index in found
            if score >= best - tolerance.margin
        }
        return _one(close)

    def _single_words(self) -> dict[int, list[tuple[str, str]]]:
        """The known single words and their meanings, by length."""
        if self._by_length is None:
            self._by_length = {}
            for phrase, meaning in self._meanings.items():
                if len(phrase) == 1:
                    self._by_length.setdefault(len(phrase[0]), []).append((phrase[0], meaning))
        return self._by_length


def _claim(meanings: dict[K, str], ranks: dict[K, int], key: K, meaning: str, rank: int) -> None:
    held = ranks.get(key)
    if held is None or rank < held:
        meanings[key] = meaning
        ranks[key] = rank
    elif rank == held and meanings[key] != meaning:
        meanings[key] = AMBIGUOUS


def _plausible(candidate: str, word: str, edits: int, tolerance: Tolerance) -> bool:
    """Whether ``word`` is a likely typo of ``candidate``: a word too short to forgive
    anything else may only have two neighbouring letters swapped; otherwise the first letter
    is right (or swapped with the second), unless the word is long."""
    swapped = sorted(candidate) == sorted(word) and len(candidate) == len(word)
    if len(word) < tolerance.min_length:
        return swapped
    if len(candidate) < tolerance.min_length - 1:
        return False
    return edits > 1 or candidate[0] == word[0] or (swapped and candidate[:2] == word[1::-1])


def _one(meanings: set[str]) -> str | None:
    if not meanings:
        return None
    return meanings.pop() if len(meanings) == 1 else AMBIGUOUS
