"""How a message looks as a text message, for every channel that is a phone (Twilio SMS and
the phone simulator).

A choice question lists its options as numbers ("1. Yes, I'll come"), because a keypad has no
buttons; typographic look-alikes are cleaned to GSM-7 so a curly apostrophe does not double the
cost; the segments are counted, since carriers bill by them; and when messages come from an
alphanumeric sender ID, which nobody can reply STOP to, every message says how else to stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from outreach.channels.base import Rendered
from outreach.content import Choice, Content
from outreach.i18n.catalogs import N_, Translate, english
from outreach.i18n.locales import in_language
from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import count_segments

STOP_FOOTER = N_("To stop these messages: {how}")


@lru_cache(maxsize=1024)
def numbered(choices: tuple[Choice, ...]) -> str:
    """The options of a choice question as a keypad shows them.

    >>> print(numbered((Choice("yes", "Yes"), Choice("no", "Not this time"))))
    1. Yes
    2. Not this time
    """
    return "\n".join(f"{n}. {choice.label}" for n, choice in enumerate(choices, start=1))


class SmsRenderer:
    """Renders content as SMS text. ``stop_footer`` is how to opt out when replies cannot
    reach us (an alphanumeric sender): it is added to every message, in the person's language
    (given per language, or one text the catalogs translate)."""

    def __init__(
        self, *, translate: Translate = english, stop_footer: str | Mapping[str, str] | None = None
    ) -> None:
        self.translate = translate
        self.stop_footer = stop_footer
        self._footers: dict[str, str] = {}

    def render(self, content: Content, language: str) -> Rendered:
        """The text a phone shows, with its segment count.

        >>> options = (Choice("yes", "Yes \u2013 I\u2019ll come"), Choice("no", "No"))
        >>> question = Content("Can you come?", kind="question", choices=options)
        >>> rendered = SmsRenderer().render(question, "en")
        >>> print(rendered.text)
        Can you come?
        1. Yes - I'll come
        2. No
        >>> rendered.describe()
        '1 segment (GSM-7)'
        """
        text = content.text
        if content.choices and not content.options_in_text:
            options = numbered(content.choices)
            text = f"{text}\n{options}" if text else options
        if self.stop_footer is not None:
            text = f"{text}\n{self._footer(language)}"
        text = sanitize_sms(text)
        count = count_segments(text)
        return Rendered(text, segments=count.segments, encoding=count.encoding)

    def measure(self, content: Content) -> tuple[int, str]:
        """Segments of ``content`` in English, and how to say it (for flow validation)."""
        rendered = self.render(content, "en")
        return rendered.segments or 1, rendered.describe()

    def _footer(self, language: str) -> str:
        footer = self._footers.get(language)
        if footer is None:
            # Given per language, or one text the catalogs translate.
            how = in_language(self.stop_footer, language)
            how = self.translate(language, how) if isinstance(how, str) else ""
            template = self.translate(language, STOP_FOOTER)
            footer = self._footers[language] = template.replace("{how}", how)
        return footer
