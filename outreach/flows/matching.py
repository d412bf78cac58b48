"""Understanding replies: choices, yes/no, numbers, ratings, dates and free text.

A choice is understood from the words of the person's language first, then English: the
option's number (in any script), its label and the words a translator gave for it, the
built-in words for what it means (yes, no, maybe, more), then the label, key and ``match``
words the coordinator wrote and the English built-in words. So Welsh "ie" and Polish "tak" are
yes, and Polish "no" (colloquially "yeah") is not English "no". The longest known phrase wins
("not sure" is maybe, "can't come" is no), polite words around it change nothing, a "not"
right before a yes makes it a no ("nie przyjdę"), a turn to no after a "but" decides ("I'd love
to, but I can't"), a maybe before a yes hedges it, and a typo is forgiven when only one option
is near it. A reply that could mean two options, or that we cannot be sure of ("not really
sure", "yes, but ..."), is asked again: the person's answer is never guessed, least of all as
its opposite.

>>> yes_no = Choices.yes_no("en", Vocabulary())
>>> [yes_no.understand(t) for t in ("Yes please!", "nope", "I'm not coming", "yes and no")]
['yes', 'no', 'no', '?']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from babel import dates as babel_dates

from outreach.i18n.locales import locale_for
from outreach.i18n.phrases import AMBIGUOUS, Hit, Phrases, Tolerance
from outreach.i18n.text import BOUNDARY, fold, normalize, tokens
from outreach.i18n.vocabulary import ANSWERS, Vocabulary

# How forgiving typo matching is, by language: scripts whose words are short, or whose
# letters differ by a single mark, forgive less.
_TOLERANCE = Tolerance()
TOLERANCES: Mapping[str, Tolerance] = {
    "ar": Tolerance(min_length=5, phrase_score=90),
    "ur": Tolerance(min_length=5, phrase_score=90),
    "bn": Tolerance(min_length=5, phrase_score=90),
    "pa": Tolerance(min_length=5, phrase_score=90),
    "gu": Tolerance(min_length=5, phrase_score=90),
}
# Ranks: what comes first wins a word two sources claim. The person's polite words come
# before English built-in answers: Spanish "ya" ("already") is not English "ya" ("yeah"); a
# coordinator's own words come before both.
_BY_NUMBER, _OWN_OPTION, _OWN_MEANING, _OPTION, _OWN_FILLER, _MEANING = range(6)
_FILLER = ""  # the meaning of a word that only fills
_STOP = "\x00stop"  # a request to stop beside an answer makes it unclear: a person reads it
_NEGATION_REACH = 3  # "not" turns round an answer up to this many words on
_CACHE_SIZE = 4096
_CACHED_LENGTH = 160
_TYPO_REPLY_WORDS = 12  # typos are forgiven in short replies, where the answer is


@dataclass(frozen=True, slots=True)
class OptionWords:
    """What identifies one option of a question, before any language is chosen.

    ``kind`` is what it means (yes, no, maybe, more; "other" keeps free text); ``english`` its
    key, label and ``match`` words; ``own`` its words in the person's language (the
    translated label and a translator's words).
    """

    key: str
    kind: str | None
    english: tuple[str, ...]
    own: tuple[str, ...] = ()


class Choices:
    """How replies to one question are understood in one language (built once, then cached)."""

    def __init__(
        self,
        options: Sequence[OptionWords],
        *,
        language: str,
        vocabulary: Vocabulary,
        numbered: bool = True,
    ) -> None:
        base = language.replace("-", "_").split("_", 1)[0]
        self.tolerance = TOLERANCES.get(base, _TOLERANCE)
        self.kinds = {o.key: o.kind for o in options}
        self.no = next((o.key for o in options if o.kind == "no"), None)
        phrases = self.phrases = Phrases()
        if numbered:
            for number, option in enumerate(options, start=1):
                phrases.add(str(number), option.key, rank=_BY_NUMBER)
        for option in options:
            phrases.add_all(option.own, option.key, rank=_OWN_OPTION)
        offered = {o.kind for o in options}
        unsure = "maybe" not in offered and bool({"yes", "no"} & offered)
        for option in options:
            if option.kind in ANSWERS:
                own = vocabulary.words(language, option.kind)
                phrases.add_all(own, option.key, rank=_OWN_MEANING)
        if unsure:  # "not sure" to a yes-or-no question is neither, never "not" + "sure"
            phrases.add_all(vocabulary.words(language, "maybe"), AMBIGUOUS, rank=_OWN_MEANING)
        for option in options:
            phrases.add_all(option.english, option.key, rank=_OPTION)
        phrases.add_all(vocabulary.words(language, "filler"), _FILLER, rank=_OWN_FILLER)
        for own in (vocabulary.words(language, "stop"), vocabulary.english("stop")):
            phrases.add_all(own, _STOP, rank=_OWN_FILLER)
        for own in (vocabulary.words(language, "passing"), vocabulary.english("passing")):
            phrases.add_all(own, _FILLER, rank=_BY_NUMBER)  # "bus stop" is no request
        for option in options:
            if option.kind in ANSWERS:
                phrases.add_all(vocabulary.english(option.kind), option.key, rank=_MEANING)
        if unsure:
            phrases.add_all(vocabulary.english("maybe"), AMBIGUOUS, rank=_MEANING)
        self.negators = _single_words(vocabulary.words(language, "not"), vocabulary.english("not"))
        self.contrasts = _single_words(vocabulary.words(language, "but"), vocabulary.english("but"))
        self.filler = _single_words(
            vocabulary.words(language, "filler"), vocabulary.english("filler")
        )
        # Words people write that are not typos of anything: never "corrected".
        self.known = {w for p, _ in phrases.entries() for w in p} | self.negators | self.contrasts
        for meaning in (*ANSWERS, "filler", "stop", "help", "human"):
            for phrase in (*vocabulary.words(language, meaning), *vocabulary.english(meaning)):
                self.known.update(t for t in tokens(phrase) if t != BOUNDARY)
        self._cache: dict[str, str | None] = {}

    @classmethod
    def yes_no(cls, language: str, vocabulary: Vocabulary) -> Choices:
        """A yes/no question: no numbers (none are shown), just the two meanings."""
        return _yes_no(language, vocabulary)

    def understand(self, text: str) -> str | None:
        """The key of the option ``text`` means; ``AMBIGUOUS`` if it could mean two (ask
        again); None if it means none."""
        if text in self._cache:
            return self._cache[text]
        found = self._understand(tokens(text))
        if len(text) <= _CACHED_LENGTH:  # replies repeat; long ones do not, and cost memory
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = found
        return found

    def _understand(self, words: tuple[str, ...]) -> str | None:
        if not words:
            return None
        found, rest = self.phrases.scan(words)
        if any(h.meaning == _STOP for h in found):
            return AMBIGUOUS  # "yes stop", "ਬੰਦ ਕਰੋ ਜੀ": never an answer; a person looks
        hits = [h for h in found if h.meaning != _FILLER]
        rest = sorted([*rest, *(h.start for h in found if h.meaning == _FILLER)])
        content = [w for w in words if w != BOUNDARY]
        if len(content) <= _TYPO_REPLY_WORDS:
            for i in rest:
                word = words[i]
                if word not in self.known and not word.isdigit():
                    near = self.phrases.near(word, self.tolerance)
                    if near is not None:
                        hits.append(Hit(i, i + 1, near, near=True))
        if not hits:
            if all(words[i].isdigit() for i in rest):
                return AMBIGUOUS  # a number that is no option: ask again, never keep it
            return self.phrases.near_phrase(words, self.tolerance) if len(content) <= 6 else None
        hits.sort(key=lambda h: h.start)
        meanings = [self._meaning(words, hits, hit) for hit in hits]
        contrasts = [i for i in rest if words[i] in self.contrasts]
        if contrasts:
            meanings = self._after_but(hits, meanings, contrasts[-1])
        distinct = set(meanings)
        if len(distinct) == 1:
            return distinct.pop()
        kinds = {self.kinds.get(m) for m in distinct}
        numbers = any(words[h.start].isdigit() for h in hits)  # "1 or 2" is two answers
        if kinds == {"maybe", "yes"} and self.kinds.get(meanings[0]) == "maybe" and not numbers:
            # "Maybe I'll come", "forse sì": a yes hedged from the start is a maybe
            return meanings[0]
        return AMBIGUOUS

    def _after_but(self, hits: list[Hit], meanings: list[str], but: int) -> list[str]:
        """The meanings that count in "X but Y": a turn to no decides ("I'd love to, but I
        can't"), as does a Y with nothing before the "but" ("but what is it?"); a no with a
        "but" and nothing more stays a no ("no, but thanks"); anything else is unclear ("yes,
        but I might be late": a yes, or a maybe?)."""
        before = [m for hit, m in zip(hits, meanings, strict=True) if hit.start < but]
        after = [m for hit, m in zip(hits, meanings, strict=True) if hit.start > but]
        if after and (not before or all(self.kinds.get(m) == "no" for m in after)):
            return after
        if before and all(self.kinds.get(m) == "no" for m in before + after):
            return before
        return [AMBIGUOUS]

    def _meaning(self, words: tuple[str, ...], hits: list[Hit], hit: Hit) -> str:
        """What ``hit`` means here, once a "not" before it (or right after it, at the end of
        its clause: "definitely not") is taken into account: a yes becomes a no, anything
        else unclear."""
        meaning = hit.meaning
        negated = self._negated(words, hits, hit)
        if meaning == AMBIGUOUS or negated is False:
            return meaning
        if negated and self.kinds.get(meaning) == "yes" and self.no is not None:
            return self.no
        return AMBIGUOUS

    def _negated(self, words: tuple[str, ...], hits: list[Hit], hit: Hit) -> bool | None:
        """True when a "not" turns ``hit`` round, None when one is near but we cannot tell
        what it turns ("not really sure": unsure, or no?)."""
        kind = self.kinds.get(hit.meaning)
        between = False  # words other than polite ones between the "not" and the answer
        for i in range(hit.start - 1, max(-1, hit.start - 1 - _NEGATION_REACH), -1):
            word = words[i]
            if word == BOUNDARY:
                break
            holder = next((h for h in hits if h.start <= i < h.end), None)
            if word in self.negators:
                # "nie przyjdę", "I won't come": a no ending in "not" negates what follows;
                # but "no, no" is simply no
                plain = holder is None or (
                    holder.end - 1 == i and self.kinds.get(holder.meaning) == "no"
                )
                if plain and kind != "no":
                    return None if between else True
                if holder is None:
                    return None if between else True
            if holder is None and word not in self.filler:
                between = True
        after = hit.end  # "definitely not": a "not" that ends the clause, and no answer itself
        return (
            kind in ("yes", "maybe")  # "probably not" is asked again: a maybe, or a no?
            and after < len(words)
            and words[after] in self.negators
            and not any(h.start <= after < h.end for h in hits)
            and (after + 1 == len(words) or words[after + 1] == BOUNDARY)
        )


@lru_cache(maxsize=64)
def _yes_no(language: str, vocabulary: Vocabulary) -> Choices:
    options = [OptionWords("yes", "yes", ("yes",)), OptionWords("no", "no", ("no",))]
    return Choices(options, language=language, vocabulary=vocabulary, numbered=False)


def _single_words(*lists: Iterable[str]) -> frozenset[str]:
    return frozenset(words[0] for entries in lists for p in entries if len(words := tokens(p)) == 1)


def parse_yesno(text: str, language: str, vocabulary: Vocabulary | None = None) -> str | None:
    """``"yes"``, ``"no"`` or None (also when it could be either), in the person's language
    and in English.

    >>> parse_yesno("nah, sorry", "en"), parse_yesno("definitely not", "en")
    ('no', 'no')
    """
    found = Choices.yes_no(language, vocabulary or _ENGLISH).understand(text)
    return None if found == AMBIGUOUS else found


_ENGLISH = Vocabulary()


def match_keyword(text: str, index: Mapping[str, str]) -> str | None:
    """The value whose keyword is the whole reply, or failing that its first word.

    >>> index = {"1": "yes", "yes": "yes", "2": "no", "no": "no"}
    >>> [match_keyword(t, index) for t in ("YES please!", "2.", "maybe")]
    ['yes', 'no', None]
    """
    norm = normalize(text)
    if not norm:
        return None
    if norm in index:
        return index[norm]
    return index.get(norm.split(" ", 1)[0])


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_STARS = frozenset("⭐★🌟")


def parse_number(text: str, language: str, vocabulary: Vocabulary | None = None) -> float | None:
    """The number in a reply: digits of any script ("3", "2.5", "about ٤") or a number word.

    >>> parse_number("about 4 people", "en"), parse_number("two", "en"), parse_number("lots", "en")
    (4.0, 2.0, None)
    """
    folded = fold(text)
    found = _NUMBER.findall(folded)
    if len(found) == 1:
        return float(found[0].replace(",", "."))
    if found:
        return None  # "3 or 4" is not one answer
    numbers = (vocabulary or _ENGLISH).numbers(language)
    values = {numbers[t] for t in tokens(text) if t in numbers}
    return float(values.pop()) if len(values) == 1 else None


def parse_rating(
    text: str, language: str, low: int, high: int, vocabulary: Vocabulary | None = None
) -> int | None:
    """A whole number on the scale; "4/5", "4 out of 5" and "⭐⭐⭐⭐" mean 4.

    >>> [parse_rating(text, "en", 1, 5) for text in ("4/5", "9", "⭐⭐⭐", "٤")]
    [4, None, 3, 4]
    """
    folded = fold(text)
    scale = re.match(r"^(\d+)\s*(?:/|out of|of)\s*\d+", folded)
    stars = sum(1 for ch in folded if ch in _STARS)
    if scale:
        value: float | None = float(scale.group(1))
    elif stars and not any(ch.isalnum() for ch in folded):
        value = float(stars)
    else:
        value = parse_number(text, language, vocabulary)
    if value is None or value != int(value) or not low <= value <= high:
        return None
    return int(value)


@lru_cache(maxsize=64)
def _month_names(language: str) -> dict[str, int]:
    locale = locale_for(language)
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in babel_dates.get_month_names(width, context, locale).items():
                names[normalize(name)] = number
    if locale.language != "en":
        names.update(_month_names("en"))
    return names


@lru_cache(maxsize=64)
def _weekday_names(language: str) -> dict[str, int]:
    locale = locale_for(language)
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for number, name in babel_dates.get_day_names(width, "format", locale).items():
            names[normalize(name)] = number
    if locale.language != "en":
        names.update(_weekday_names("en"))
    return names


_RELATIVE_DAYS: Mapping[str, int] = {"today": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1}


def parse_date(text: str, language: str, today: date) -> date | None:
    """A date from a reply, day first as written in the UK; digits of any script.

    >>> today = date(2026, 3, 2)  # a Monday
    >>> [str(parse_date(t, "en", today)) for t in ("5/3", "tomorrow", "Friday.", "12 April 2026")]
    ['2026-03-05', '2026-03-03', '2026-03-06', '2026-04-12']
    """
    plain = fold(text).strip(" .,!?")
    norm = normalize(text)
    if norm in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[norm])
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", plain)
    if iso:
        return _make_date(int(iso[3]), int(iso[2]), iso[1], today)
    numeric = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?", plain)
    if numeric:
        day, month, year = numeric.groups()
        return _make_date(int(day), int(month), year, today)
    weekdays = _weekday_names(language)
    if norm in weekdays:
        ahead = (weekdays[norm] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    words = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", norm).split()
    months = _month_names(language)
    numbers = [w for w in words if w.isdigit()]
    named = [months[w] for w in words if w in months]
    if len(named) == 1 and 1 <= len(numbers) <= 2:
        year = numbers[1] if len(numbers) == 2 else None
        return _make_date(int(numbers[0]), named[0], year, today)
    return None


def _make_date(day: int, month: int, year: str | None, today: date) -> date | None:
    try:
        if year is None:
            # "5/3" means the next 5 March, not one months ago
            candidate = date(today.year, month, day)
            return (
                candidate
                if candidate >= today - timedelta(days=31)
                else candidate.replace(year=today.year + 1)
            )
        full = int(year) + (2000 if len(year) == 2 else 0)
        return date(full, month, day)
    except ValueError:
        return None
