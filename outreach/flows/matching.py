"""Understanding replies: choices, yes/no, numbers, ratings, dates and free text.

Matching forgives what people do on a phone keypad: any case, accents left off or added,
extra spaces, trailing punctuation, a number instead of a word, and a word or two after the
answer ("yes please", "2 thanks").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache

from babel import dates as babel_dates

from outreach.i18n.locales import locale_for
from outreach.i18n.text import normalize

# Each language's words, and the Latin-script spellings people text (Urdu "haan", Arabic
# "naam"). English works for everyone. Words of another language are left out where they
# clash (Polish "no" means "well, yes").
YES_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset({"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "aye", "yes please"}),
    "cy": frozenset({"ie", "do", "ydw", "ydy", "oes", "iawn", "gallaf", "hoffwn"}),
    "pl": frozenset({"tak", "jasne", "oczywiscie", "chetnie"}),
    "ro": frozenset({"da", "sigur", "desigur", "bine"}),
    "ur": frozenset({"ہاں", "جی ہاں", "جی", "haan", "han", "ji haan", "ji"}),
    "bn": frozenset({"হ্যাঁ", "হাঁ", "হ্যা", "hyan", "ha", "haan"}),
    "ar": frozenset({"نعم", "اي", "أيوه", "ايوه", "اكيد", "naam", "aywa"}),
    "pa": frozenset({"ਹਾਂ", "ਹਾਂਜੀ", "ਜੀ", "haan", "haanji", "ha ji"}),
}
NO_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset({"no", "n", "nope", "nah", "no thanks", "no thank you", "not really"}),
    "cy": frozenset({"na", "nage", "nac ydw", "nac oes", "dim", "dim diolch"}),
    "pl": frozenset({"nie", "nie dziekuje"}),
    "ro": frozenset({"nu", "nu multumesc"}),
    "ur": frozenset({"نہیں", "nahi", "nahin", "nai"}),
    "bn": frozenset({"না", "na", "naa"}),
    "ar": frozenset({"لا", "la", "laa"}),
    "pa": frozenset({"ਨਹੀਂ", "ਨਹੀ", "nahi", "nahin"}),
}
NUMBER_WORDS: Mapping[str, Mapping[str, int]] = {
    "en": {
        w: i
        for i, w in enumerate(
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
        )
    },
}
_RELATIVE_DAYS: Mapping[str, Mapping[str, int]] = {
    "en": {"today": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1},
}


@lru_cache(maxsize=64)
def _yes_no_index(language: str) -> dict[str, str]:
    """Normalised yes and no words for a person: their language's, then English."""
    base = language.replace("-", "_").split("_", 1)[0]
    index: dict[str, str] = {}
    for table, meaning in ((YES_WORDS, "yes"), (NO_WORDS, "no")):
        for word in table.get(base, frozenset()) | table["en"]:
            index.setdefault(normalize(word), meaning)
    return index


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
    first = normalize(norm.split(" ", 1)[0])
    return index.get(first)


def parse_yesno(text: str, language: str) -> str | None:
    """``"yes"``, ``"no"`` or None, accepting English words in any language."""
    return match_keyword(text, _yes_no_index(language))


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_number(text: str, language: str) -> float | None:
    """The number in a reply: digits ("3", "2.5", "about 4") or a small number word.

    >>> parse_number("about 4 people", "en"), parse_number("two", "en"), parse_number("lots", "en")
    (4.0, 2.0, None)
    """
    norm = normalize(text)
    found = _NUMBER.findall(norm)
    if len(found) == 1:
        return float(found[0].replace(",", "."))
    if found:
        return None  # "3 or 4" is not one answer
    base = language.replace("-", "_").split("_", 1)[0]
    words = {**NUMBER_WORDS["en"], **NUMBER_WORDS.get(base, {})}
    for token in norm.split():
        if token in words:
            return float(words[token])
    return None


def parse_rating(text: str, language: str, low: int, high: int) -> int | None:
    """A whole number on the scale; "4/5" and "4 out of 5" mean 4.

    >>> parse_rating("4/5", "en", 1, 5), parse_rating("9", "en", 1, 5)
    (4, None)
    """
    norm = normalize(text)
    scale = re.match(r"^(\d+)\s*(?:/|out of|of)\s*\d+", norm)
    value = float(scale.group(1)) if scale else parse_number(norm, language)
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
                names[normalize(name).rstrip(".")] = number
    if locale.language != "en":
        names.update(_month_names("en"))
    return names


@lru_cache(maxsize=64)
def _weekday_names(language: str) -> dict[str, int]:
    locale = locale_for(language)
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for number, name in babel_dates.get_day_names(width, "format", locale).items():
            names[normalize(name).rstrip(".")] = number
    if locale.language != "en":
        names.update(_weekday_names("en"))
    return names


def parse_date(text: str, language: str, today: date) -> date | None:
    """A date from a reply, day first as written in the UK.

    >>> today = date(2026, 3, 2)  # a Monday
    >>> [str(parse_date(t, "en", today)) for t in ("5/3", "tomorrow", "Friday", "12 April 2026")]
    ['2026-03-05', '2026-03-03', '2026-03-06', '2026-04-12']
    """
    norm = normalize(text)
    base = language.replace("-", "_").split("_", 1)[0]
    relative = {**_RELATIVE_DAYS["en"], **_RELATIVE_DAYS.get(base, {})}
    if norm in relative:
        return today + timedelta(days=relative[norm])
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", norm)
    if iso:
        return _make_date(int(iso[3]), int(iso[2]), iso[1], today)
    numeric = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?", norm)
    if numeric:
        day, month, year = numeric.groups()
        return _make_date(int(day), int(month), year, today)
    weekdays = _weekday_names(language)
    if norm in weekdays:
        ahead = (weekdays[norm] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    tokens = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", norm).replace(",", " ").split()
    months = _month_names(language)
    numbers = [t for t in tokens if t.isdigit()]
    named = [months[t.rstrip(".")] for t in tokens if t.rstrip(".") in months]
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
