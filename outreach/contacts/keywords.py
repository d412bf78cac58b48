"""The words that always work, whatever conversation is running: stop, start, help, language.

A message that is only the keyword (any case, spacing, trailing punctuation) counts; so do clear
phrases such as "stop texting me". A longer message that merely contains a stop word ("I can't
stop thinking about it") does not opt anyone out, but is flagged for a human to read, because
missing a real opt-out is worse than a person checking one sentence.

Words are given per language; every language's words work for everyone (people switch
languages, and a Welsh speaker may text STOP). Digits and Latin-script transliterations are
included where people commonly text them (Urdu and Panjabi "band karo").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from outreach.i18n.text import normalize

Command = Literal["stop", "start", "help", "lang"]

STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        "opt out",
        "opt-out",
    ),
    "cy": ("stopio", "stopiwch", "dad-danysgrifio", "dad danysgrifio", "dim mwy"),
    "pl": ("wypisz", "wypisz mnie", "rezygnuje", "koniec", "anuluj"),
    "ro": ("dezabonare", "dezabonez", "anulare", "renunt", "opreste"),
    "ur": ("بند", "بند کریں", "بند کرو", "band karo", "band karein"),
    "bn": ("বন্ধ", "বন্ধ করুন", "bondho", "bondho korun"),
    "ar": ("توقف", "ايقاف", "إيقاف", "الغاء", "إلغاء", "الغاء الاشتراك"),
    "pa": ("ਬੰਦ", "ਬੰਦ ਕਰੋ", "band kro"),
}
START_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("start", "unstop", "resume"),
    "cy": ("dechrau", "ailddechrau"),
    "pl": ("wznow",),
    "ro": ("porneste", "reluare"),
    "ur": ("شروع", "shuru"),
    "bn": ("শুরু", "shuru korun"),
    "ar": ("ابدأ", "ابدا", "استئناف"),
    "pa": ("ਸ਼ੁਰੂ", "ਸ਼ੁਰੂ ਕਰੋ"),
}
HELP_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("help", "info"),
    "cy": ("cymorth", "help"),
    "pl": ("pomoc",),
    "ro": ("ajutor",),
    "ur": ("مدد", "madad"),
    "bn": ("সাহায্য", "sahajjo"),
    "ar": ("مساعدة", "مساعده"),
    "pa": ("ਮਦਦ",),
}
LANG_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("lang", "language", "languages"),
    "cy": ("iaith",),
    "pl": ("jezyk",),
    "ro": ("limba",),
    "ur": ("زبان", "zuban", "zaban"),
    "bn": ("ভাষা", "bhasha"),
    "ar": ("لغة", "اللغة"),
    "pa": ("ਭਾਸ਼ਾ",),
}

# Clear requests to stop, in the person's own words (English; keywords cover the rest).
_STOP_PHRASES = re.compile(
    r"^(please )?(stop|quit|no more) (texting|messaging|sending|contacting|txting|texts|messages)"
    r"( me| us)?( please)?( now)?$"
    r"|^(please )?(remove|delete|unsubscribe|take) me( off| from)?( (your|the|this) "
    r"(list|system|database))?( please)?$"
    r"|^(please )?(do not|dont|don't) (text|message|contact) me( again| anymore| any more)?"
    r"( please)?$"
    r"|^leave me alone$|^i (want to|wish to|would like to) (unsubscribe|opt out|stop)$"
)


@dataclass(frozen=True, slots=True)
class Keyword:
    """What a message asks for; ``language`` is the language whose word it was."""

    command: Command
    language: str


@dataclass(frozen=True, slots=True)
class PossibleOptOut:
    """A longer message containing a stop word: not an opt-out, but a human should look."""

    word: str


def _index() -> dict[str, Keyword]:
    index: dict[str, Keyword] = {}
    tables: list[tuple[Command, dict[str, tuple[str, ...]]]] = [
        ("stop", STOP_WORDS),
        ("start", START_WORDS),
        ("help", HELP_WORDS),
        ("lang", LANG_WORDS),
    ]
    for command, table in tables:
        for language, words in table.items():
            for word in words:
                index.setdefault(normalize(word), Keyword(command, language))
    return index


_KEYWORDS = _index()
_STOP_TOKENS = {w for w, k in _KEYWORDS.items() if k.command == "stop" and " " not in w}


def classify(text: str) -> Keyword | PossibleOptOut | None:
    """What an incoming message asks of the system, if anything.

    >>> classify(" Stop. ")
    Keyword(command='stop', language='en')
    >>> classify("STOPIO")
    Keyword(command='stop', language='cy')
    >>> classify("please stop texting me")
    Keyword(command='stop', language='en')
    >>> classify("I can't stop thinking about it")
    PossibleOptOut(word='stop')
    >>> classify("yes please") is None
    True
    """
    norm = normalize(text)
    if not norm:
        return None
    found = _KEYWORDS.get(norm)
    if found is not None:
        return found
    if _STOP_PHRASES.match(norm.replace("’", "'")):
        return Keyword("stop", "en")
    for token in re.split(r"[^\w'-]+", norm):
        if token in _STOP_TOKENS:
            return PossibleOptOut(token)
    return None


def all_keywords() -> frozenset[str]:
    """Every normalised keyword, for flow validation (flows may not claim them)."""
    return frozenset(_KEYWORDS)
