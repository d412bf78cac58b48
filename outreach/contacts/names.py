"""A full name, as one spreadsheet column holds it, split into first and last name.

The rule, as a person reading the list would split it (the README says the same):

- "Family, Given" (one comma) is the given name, then the family name;
- a courtesy title in front (Mr, Mrs, Ms, Miss, Mx, Dr, Prof, Rev) is set aside: "Mrs Jane
  Smith" is Jane Smith; with one word after it ("Mrs Smith") the whole is kept as the first
  name, so a message greets "Mrs Smith";
- a name in a script that writes the family name first, often without a space (Chinese,
  Japanese, Korean), is kept whole as the first name, so the greeting uses all of it;
- otherwise the first word is the first name and the rest the last name ("Mary Anne de la
  Cruz" is Mary, Anne de la Cruz). Where that is wrong for a name (Hungarian and Vietnamese
  names put the family name first in Latin letters), give first_name and last_name columns.
"""

from __future__ import annotations

import re

# Titles as they appear in front of a name in an English-language list.
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "revd"})
# Han, Hiragana, Katakana, Hangul (and its jamo): family name first.
_FAMILY_FIRST = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


def split_full_name(full: str) -> tuple[str | None, str | None]:
    """(first name, last name) from a full name; either may be None.

    >>> split_full_name("Siân Evans")
    ('Siân', 'Evans')
    >>> split_full_name("Evans, Siân")
    ('Siân', 'Evans')
    >>> split_full_name("Mrs Jane Smith")
    ('Jane', 'Smith')
    >>> split_full_name("Mrs Smith")
    ('Mrs Smith', None)
    >>> split_full_name("山田 太郎")
    ('山田 太郎', None)
    >>> split_full_name("  ")
    (None, None)
    """
    name = " ".join(full.split())
    if not name:
        return None, None
    if _FAMILY_FIRST.search(name):
        return name, None
    family, comma, given = name.partition(",")
    if comma and "," not in given and family.strip() and given.strip():
        return given.strip(), family.strip()
    words = name.split(" ")
    if len(words) > 2 and words[0].lower().rstrip(".") in TITLES:
        words = words[1:]
    first, rest = words[0], " ".join(words[1:])
    if first.lower().rstrip(".") in TITLES:
        return name, None
    return first, rest or None
