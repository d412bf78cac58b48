"""How many SMS segments a message costs, and in which encoding.

Carriers bill per segment. A message whose characters all sit in the GSM 03.38 alphabet is sent
as GSM-7 (160 septets alone, 153 per segment when split, extension characters taking two
septets); one character outside it turns the whole message into UCS-2 (70 UTF-16 code units
alone, 67 per segment when split). A character is never split across two segments: an
extension character's escape stays with it and a surrogate pair stays whole, which is why a
split message can need one segment more than plain division suggests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """The encoding a message needs and the number of segments it is billed as."""

    encoding: Encoding
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2

    def __str__(self) -> str:
        plural = "" if self.segments == 1 else "s"
        return f"{self.segments} segment{plural} ({self.encoding})"


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` can be sent in GSM-7.

    >>> is_gsm7("Croeso! See you at 6pm")
    True
    >>> is_gsm7("Dydd Iau, ŵyl")
    False
    """
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The distinct characters that force ``text`` into UCS-2, in order of appearance."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch, None)
    return list(seen)


def count_segments(text: str) -> SegmentCount:
    """Count the segments ``text`` is sent as.

    >>> count_segments("a" * 160)
    SegmentCount(encoding='GSM-7', segments=1, units=160)
    >>> count_segments("a" * 161).segments
    2
    >>> count_segments("€" * 81)   # extension characters take two septets each
    SegmentCount(encoding='GSM-7', segments=2, units=162)
    >>> count_segments("ł" * 70).segments, count_segments("ł" * 71).segments
    (1, 2)
    """
    if is_gsm7(text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentCount("GSM-7", _pack(sizes, single=160, multi=153), sum(sizes))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SegmentCount("UCS-2", _pack(sizes, single=70, multi=67), sum(sizes))


def _pack(sizes: list[int], *, single: int, multi: int) -> int:
    """Segments needed when characters of the given sizes may not straddle a boundary."""
    total = sum(sizes)
    if total == 0:
        return 1
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments
