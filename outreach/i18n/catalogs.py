"""Translate message ids into a contact's language from the gettext catalogs in ``locales/``.

English text is the message id. Catalogs are read straight from the ``.po`` files translators
edit (no compile step to forget); fuzzy and empty entries are skipped, so an unfinished
translation falls back along the language's chain (``pt_BR`` → ``pt`` → English) instead of
sending something a translator has not confirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from babel.messages.pofile import read_po

from outreach.i18n.locales import fallback_chain

Translate = Callable[[str, str], str]
"""``translate(language, message_id) -> text``: what the engine calls for every message."""

DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a system text for extraction into the catalogs; translated later, when sent."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark a text that has a context (``msgctxt``) for extraction: the words people use for
    one meaning (``NC_("words: yes", "yes | yeah")``), read later with ``Catalogs.lookup``."""
    return message


def english(language: str, message: str) -> str:
    """The translation function that leaves every message in English."""
    return message


class Catalogs:
    """The catalogs in one ``locales`` folder, loaded once per language on first use."""

    def __init__(self, directory: Path | None, *, domain: str = DOMAIN) -> None:
        self._directory = directory
        self._domain = domain
        self._loaded: dict[str, dict[tuple[str | None, str], str]] = {}
        self._resolved: dict[tuple[str, str], str] = {}

    def languages(self) -> list[str]:
        """Languages with a catalog, sorted."""
        if self._directory is None or not self._directory.is_dir():
            return []
        pattern = f"*/LC_MESSAGES/{self._domain}.po"
        return sorted(p.parent.parent.name for p in self._directory.glob(pattern))

    def gettext(self, language: str, message: str) -> str:
        """``message`` in ``language``, or in the nearest language of its chain that has it."""
        key = (language, message)
        found = self._resolved.get(key)
        if found is None:
            found = next(
                (
                    t
                    for tag in fallback_chain(language)
                    if (t := self._catalog(tag).get((None, message)))
                ),
                message,
            )
            self._resolved[key] = found
        return found

    __call__ = gettext

    def lookup(self, tag: str, message: str, *, context: str | None = None) -> str | None:
        """The confirmed translation of ``message`` in exactly the language ``tag`` (no
        fallback), or None."""
        return self._catalog(tag).get((context, message))

    def _catalog(self, tag: str) -> dict[tuple[str | None, str], str]:
        if tag not in self._loaded:
            self._loaded[tag] = self._read(tag)
        return self._loaded[tag]

    def _read(self, tag: str) -> dict[tuple[str | None, str], str]:
        if self._directory is None:
            return {}
        path = self._directory / tag / "LC_MESSAGES" / f"{self._domain}.po"
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=tag)
        return {
            (m.context, str(m.id)): str(m.string)
            for m in catalog
            if m.id
            and isinstance(m.id, str)
            and isinstance(m.string, str)
            and m.string
            and not m.fuzzy
        }
