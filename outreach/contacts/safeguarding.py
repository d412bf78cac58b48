"""Safeguarding words: a message that says someone may harm themselves, is being abused or is
in crisis, in any language a catalog gives words for (``words: self-harm``, ``words: abuse``,
``words: crisis``; see ``outreach.i18n.vocabulary``).

Every language is searched whatever the person's language, anywhere in the message, typos
forgiven: an alert a person reads and dismisses costs little; one missed can cost a life.

>>> concerns = Concerns(Vocabulary())
>>> concerns.find("Sometimes I just want to end it all, honestly")
'self-harm'
>>> concerns.find("I'm scared to go home tonight"), concerns.find("Yes I'll come")
('abuse', None)
"""

from __future__ import annotations

from functools import lru_cache

from outreach.i18n.phrases import AMBIGUOUS, Phrases
from outreach.i18n.text import tokens
from outreach.i18n.vocabulary import CONCERNS, Vocabulary


class Concerns:
    """Finds safeguarding words in messages."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def find(self, text: str) -> str | None:
        """The concern (self-harm, abuse, crisis) a message raises, if any; self-harm first."""
        words = tokens(text)
        if not words:
            return None
        hits, _ = _index(self.vocabulary).scan(words)
        found = {h.meaning for h in hits if h.meaning != AMBIGUOUS}
        return next((concern for concern in CONCERNS if concern in found), None)


@lru_cache(maxsize=8)
def _index(vocabulary: Vocabulary) -> Phrases:
    index = Phrases()
    # A phrase two concerns share counts as the first of them, never as neither.
    for rank, concern in enumerate(CONCERNS, start=1):
        for tag in vocabulary.languages():
            words = vocabulary.english(concern) if tag == "en" else vocabulary.words(tag, concern)
            index.add_all(words, concern, rank=rank)
    return index
