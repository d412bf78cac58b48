"""Durations as coordinators write them: ``30m``, ``48h``, ``7d``, ``1w``, ``2h30m``, ``-1d``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*([+-])?\s*((?:\d+\s*[wdhms]\s*)+)$", re.IGNORECASE)
_UNIT = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """Turn ``2h30m`` into a timedelta; a leading ``-`` means before.

    >>> parse_duration("48h")
    datetime.timedelta(days=2)
    >>> parse_duration("-1d 2h") == -timedelta(hours=26)
    True
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    ValueError: 'soon' is not a duration: write a number and a unit, like 30m, 48h, 7d or 2w
    """
    match = _WHOLE.match(str(text))
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit, like 30m, 48h, 7d or 2w"
        )
    sign, body = match.groups()
    total = timedelta()
    for amount, unit in _PART.findall(body):
        total += timedelta(**{_UNIT[unit.lower()]: int(amount)})
    return -total if sign == "-" else total


def format_duration(value: timedelta) -> str:
    """The shortest way a coordinator would write ``value``.

    >>> format_duration(timedelta(days=2))
    '2d'
    >>> format_duration(timedelta(hours=-26))
    '-1d2h'
    """
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")
