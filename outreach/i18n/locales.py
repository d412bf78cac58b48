"""Language tags to Babel locales, and locale-aware formatting of dates, times and numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

# A bare language means its home territory for formats (UK English, not US English).
_DEFAULT_TERRITORY = {"en": "en_GB", "pt": "pt_PT"}
FORMATS = ("date", "time", "datetime", "day", "short_date", "number")


@lru_cache(maxsize=256)
def locale_for(language: str) -> Locale:
    """The Babel locale for a language tag (``cy``, ``pt-BR``, ``en_GB``); English if unknown.

    >>> str(locale_for("pt-BR")), str(locale_for("en")), str(locale_for("xx-nonsense"))
    ('pt_BR', 'en_GB', 'en_GB')
    """
    tag = _DEFAULT_TERRITORY.get(language, language)
    try:
        return Locale.parse(tag, sep="-" if "-" in tag else "_")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def fallback_chain(language: str) -> list[str]:
    """Languages to try in order: ``pt_BR`` then ``pt`` then English.

    >>> fallback_chain("pt-BR")
    ['pt_BR', 'pt', 'en']
    """
    tag = language.replace("-", "_")
    chain = [tag]
    if "_" in tag:
        chain.append(tag.split("_", 1)[0])
    if "en" not in chain:
        chain.append("en")
    return chain


def in_language(value: Any, language: str) -> Any:
    """``value`` as the person should read it: a text given per language (``{"en": ...,
    "cy": ...}``) in their language or the nearest one of its chain; anything else as it is.

    >>> venue = {"en": "Riverside Centre", "cy": "Canolfan Glan yr Afon"}
    >>> in_language(venue, "cy_GB"), in_language(venue, "pl"), in_language(60, "cy")
    ('Canolfan Glan yr Afon', 'Riverside Centre', 60)
    """
    if not isinstance(value, Mapping):
        return value
    for tag in fallback_chain(language):
        if tag in value:
            return value[tag]
    return next(iter(value.values()), None)


def to_local(value: datetime, timezone: str) -> datetime:
    """``value`` in ``timezone``; a naive datetime is taken as UTC (as the store keeps them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(timezone))


def format_value(value: Any, fmt: str | None, *, language: str, timezone: str) -> str:
    """Format a placeholder's value for a person (cached: thousands share one event's date).

    >>> when = datetime(2026, 3, 5, 18, 30, tzinfo=UTC)
    >>> format_value(when, "date", language="en", timezone="Europe/London")
    'Thursday, 5 March'
    >>> format_value(when, "date", language="pl", timezone="Europe/London")
    'czwartek, 5 marca'
    >>> format_value(when, "time", language="en", timezone="Europe/London")
    '18:30'
    >>> format_value(1234.5, "number", language="en", timezone="UTC")
    '1,234.5'
    """
    try:
        return _format_cached(value, fmt, language, timezone)
    except TypeError:  # an unhashable value: format it afresh
        return _format(value, fmt, language, timezone)


@lru_cache(maxsize=4096)
def _format_cached(value: Any, fmt: str | None, language: str, timezone: str) -> str:
    return _format(value, fmt, language, timezone)


def _format(value: Any, fmt: str | None, language: str, timezone: str) -> str:
    locale = locale_for(language)
    if isinstance(value, str) and fmt in ("date", "time", "datetime", "day", "short_date"):
        value = _parse_iso(value)
    if isinstance(value, datetime):
        local = to_local(value, timezone)
        if fmt == "time":
            return babel_dates.format_time(local, "short", locale=locale)
        if fmt == "datetime":
            day = babel_dates.format_date(local.date(), _day_month(locale), locale=locale)
            return f"{day}, {babel_dates.format_time(local, 'short', locale=locale)}"
        value = local.date()
    if isinstance(value, date):
        if fmt == "day":
            return babel_dates.format_date(value, "EEEE", locale=locale)
        if fmt == "short_date":
            return babel_dates.format_date(value, "short", locale=locale)
        return babel_dates.format_date(value, _day_month(locale), locale=locale)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return babel_numbers.format_decimal(value, locale=locale)
    if value is None:
        return ""
    return str(value)


@lru_cache(maxsize=64)
def _day_month(locale: Locale) -> str:
    """The locale's full date pattern without the year: "EEEE, d MMMM" (a weekday and a date
    people recognise, punctuated as the language does), for an event a few weeks away.

    >>> _day_month(locale_for("ur"))
    'EEEE، d MMMM'
    """
    pattern = str(locale.date_formats["full"].pattern)
    return re.sub(r"[\s,،]*y+[\s,،]*", " ", pattern).strip(" ,،")


def _parse_iso(text: str) -> datetime | date | str:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


def text_direction(language: str) -> str:
    """``rtl`` for right-to-left scripts (Arabic, Urdu), else ``ltr``.

    >>> text_direction("ur"), text_direction("cy")
    ('rtl', 'ltr')
    """
    return "rtl" if locale_for(language).character_order == "right-to-left" else "ltr"
