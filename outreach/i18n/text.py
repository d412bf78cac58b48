"""Text as people type it, folded so that replies can be compared with the words we expect.

Shared by the engine (answers), the keyword commands (STOP, HELP) and the translation checks, so
all three agree on when two words are the same. Folding forgives what keyboards and phones do:
case; accents a keyboard lacks (``przyjde`` for ``przyjdę``, ``ydw`` for ``ŷdw``); the Arabic and
Urdu letters that the two keyboards type differently (ك/ک, ي/ی, ه/ہ, hamza forms); digits of any
script (١ ১ ੧ are 1); curly apostrophes; and emoji skin tones. Indic vowel signs and the Gurmukhi
tippi are part of a word, never a gap between two.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

BOUNDARY = "."
"""The token ``tokens`` puts where a clause ends (a comma, a full stop, ?, !)."""


def _build_tables() -> tuple[dict[int, str | None], str]:
    """The character map of ``fold`` and the combining marks that belong inside words."""
    table: dict[int, str | None] = {}
    marks: list[str] = []
    for code in range(0x20000):  # the planes where today's scripts, digits and emoji are
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        category = unicodedata.category(ch)
        if category == "Nd" and not "0" <= ch <= "9":
            table[code] = str(unicodedata.decimal(ch))
        elif category[0] == "M" and code not in _DROPPED:
            marks.append(ch)
    for code in _DROPPED:
        table[code] = None  # str.translate deletes it
    table.update({ord(k): v for k, v in _LETTERS.items()})
    return table, re.escape("".join(marks))


# Marks people leave out, so that words match with or without them: the Latin accents (after
# NFKD they stand alone), Arabic vowel signs, hamza and tatweel, Indic nuktas; and what is
# not a letter at all: emoji variation selectors, skin tones, joiners.
_DROPPED = frozenset(
    chain(
        range(0x0300, 0x0370),  # Latin accents
        range(0x1AB0, 0x1B00),
        range(0x1DC0, 0x1E00),
        range(0x064B, 0x0660),  # Arabic vowel signs and hamza
        range(0x06D6, 0x06EE),
        (0x0670, 0x0640),  # superscript alef, tatweel
        (0x093C, 0x09BC, 0x0A3C, 0x0ABC),  # nuktas
        range(0x20D0, 0x2100),  # enclosing keycaps: 1️⃣ is 1
        (0xFE0E, 0xFE0F),  # emoji variation selectors
        range(0x1F3FB, 0x1F400),  # skin tones
        (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF),  # zero-width spaces and joiners
    )
)
# Letters that keyboards spell in two ways, mapped to one. Arabic-keyboard users typing Urdu
# send ك ي ه for ک ی ہ; Gurmukhi's tippi and bindi are written for each other.
_APOSTROPHES = {ord(c): "'" for c in "’‘ʼ`´′"}
_LETTERS = {
    "ł": "l",
    "đ": "d",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ı": "i",
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u06aa": "\u0643",
    "\u06cc": "\u064a",  # farsi yeh -> yeh
    "\u0649": "\u064a",  # alef maksura -> yeh
    "\u06d2": "\u064a",  # yeh barree -> yeh
    "\u06c1": "\u0647",  # heh goal -> heh
    "\u06be": "\u0647",  # heh doachashmee -> heh
    "\u06d5": "\u0647",  # ae -> heh
    "\u06c3": "\u0647",  # teh marbuta goal -> heh
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u06ba": "\u0646",  # noon ghunna -> noon
    "\u0671": "\u0627",  # alef wasla -> alef
    "\u0a70": "\u0a02",  # Gurmukhi tippi -> bindi
    "\u0a81": "\u0a82",  # Gujarati candrabindu -> anusvara
}
_TABLE, _MARKS = _build_tables()

_ASCII_WORD = r"[a-z0-9_]+(?:'[a-z0-9_]+)*"
_ASCII_TOKEN = re.compile(rf"(?P<word>{_ASCII_WORD})|(?P<stop>[.,;:!?]+)")
# A word: letters, digits and the marks inside them, with apostrophes between ("don't");
# a symbol (an emoji, or a slash) stands alone; clause punctuation is a boundary.
_WORD = rf"[\w{_MARKS}]+(?:'[\w{_MARKS}]+)*"
_BOUNDARIES = ".,;:!?¡¿،؛؟।॥…"
_TOKEN = re.compile(
    rf"(?P<word>{_WORD})|(?P<stop>[{re.escape(_BOUNDARIES)}]+)|(?P<symbol>[^\s\w{_MARKS}])"
)


_CACHED_LENGTH = 160  # replies repeat ("yes", "1", "no thanks"); long texts do not


def fold(text: str) -> str:
    """``text`` folded for comparison, punctuation kept: no case, no accents a keyboard may
    lack, one spelling of each Arabic-script letter, ASCII digits, single spaces.

    >>> fold("  Ié!! ")
    'ie!!'
    >>> fold("Przyjdę ١٢/٣")
    'przyjde 12/3'
    >>> fold("بند كريں") == fold("بند کریں")
    True
    """
    return _fold(text) if len(text) <= _CACHED_LENGTH else _fold.__wrapped__(text)


@lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    if text.isascii():  # most replies: skip the Unicode work
        return " ".join(text.replace("`", "'").lower().split())
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES)).casefold()
    return " ".join(unicodedata.normalize("NFC", decomposed.translate(_TABLE)).split())


def tokens(text: str) -> tuple[str, ...]:
    """The words of ``text`` (folded), each emoji a word, ``BOUNDARY`` where a clause ends.

    >>> tokens("Yes, I'll come!! 👍🏽")
    ('yes', '.', "i'll", 'come', '.', '👍')
    >>> tokens("ਨਹੀਂ ਜੀ")  # the tippi and vowel signs stay inside their words
    ('ਨਹੀਂ', 'ਜੀ')
    """
    return _tokens(text) if len(text) <= _CACHED_LENGTH else _tokens.__wrapped__(text)


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    folded = fold(text)
    pattern = _ASCII_TOKEN if folded.isascii() else _TOKEN
    found: list[str] = []
    for match in pattern.finditer(folded):
        token = match.group()
        if match.lastgroup == "stop":
            if found and found[-1] != BOUNDARY:
                found.append(BOUNDARY)
        elif match.lastgroup == "word" or unicodedata.category(token) == "So":
            found.append(token)  # an emoji means something; a dash or a slash does not
    if found and found[-1] == BOUNDARY:
        found.pop()
    return tuple(found)


def normalize(text: str) -> str:
    """``text`` as its words alone, for comparing whole replies and keywords (every reply is
    compared with the flows' keywords: cached).

    >>> normalize("  Ié!! ")
    'ie'
    >>> normalize("Tak,   proszę.")
    'tak prosze'
    >>> normalize("dad-danysgrifio")
    'dad danysgrifio'
    """
    return _normalize(text) if len(text) <= _CACHED_LENGTH else _normalize.__wrapped__(text)


@lru_cache(maxsize=8192)
def _normalize(text: str) -> str:
    return " ".join(t for t in tokens(text) if t != BOUNDARY)
