"""Text as people type it, folded so that replies can be compared with the words we expect.

Shared by the engine (answers), the keyword commands (STOP, HELP) and the translation checks, so
all three agree on when two words are the same.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_ASCII_EDGE = string.punctuation + " "


@lru_cache(maxsize=8192)  # replies repeat: "yes", "1", "no thanks"
def normalize(text: str) -> str:
    """Fold ``text`` for matching: no accents, no case, single spaces, no edge punctuation.

    >>> normalize("  Ié!! ")
    'ie'
    >>> normalize("Tak,   proszę.")
    'tak, prosze'
    """
    if text.isascii():  # most replies: skip the Unicode work
        folded = " ".join(text.lower().split())
        return folded.strip(_ASCII_EDGE)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = " ".join(stripped.casefold().split())
    return _EDGE_PUNCT.sub("", folded)
