"""SMS segment counts against published vectors (Twilio's segment calculator, 3GPP 23.038)."""

from __future__ import annotations

import pytest

from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import count_segments, non_gsm7_characters


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("[" * 80, "GSM-7", 1),  # 160 septets: extension characters count twice
        ("[" * 81, "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 2),  # the escape never splits from its character
        ("ł" * 70, "UCS-2", 1),
        ("ł" * 71, "UCS-2", 2),
        ("ł" * 134, "UCS-2", 2),
        ("ł" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # surrogate pairs: two code units each
        ("😀" * 36, "UCS-2", 2),
        ("a" * 66 + "😀", "UCS-2", 1),
        ("a" * 66 + "😀" + "a" * 4, "UCS-2", 2),  # 72 units: a pair is never split across segments
        ("Dydd Iau, ŵyl " * 5, "UCS-2", 1),
    ],
)
def test_count_segments_matches_published_vectors(text: str, encoding: str, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments) == (encoding, segments)


def test_split_ucs2_boundary_keeps_surrogate_pair_whole() -> None:
    # 66 units, then a pair would straddle unit 67/68: it moves whole to the next segment
    text = "ł" * 66 + "😀" + "ł" * 67
    assert count_segments(text).segments == 3


def test_sanitizer_keeps_message_in_gsm7() -> None:
    text = "We\u2019re meeting \u201con Thursday\u201d \u2013 see you\u2026"
    assert count_segments(text).encoding == "UCS-2"
    assert count_segments(sanitize_sms(text)).encoding == "GSM-7"
    assert non_gsm7_characters(sanitize_sms("Dzień dobry, ŵ")) == ["ń", "ŵ"]
