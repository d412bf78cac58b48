"""Turning translation checks into text for people: a summary per language and a segment table."""

from __future__ import annotations

from collections.abc import Sequence

from outreach.i18n.segments import SegmentCount
from outreach.translations.check import LanguageReport

UCS2_COST = 153 / 67  # characters a segment, GSM-7 against UCS-2, once a message is split


def summary(report: LanguageReport) -> str:
    """A small table of translated / missing / fuzzy per flow, the encoding the language
    forces, and the events that do not give their texts in it."""
    lines = [f"{report.language}"]
    if not report.by_flow:
        lines[0] += "  (the source language: its messages measured as sent)"
        return "\n".join(lines)
    if "review" in report.header_note.lower():
        lines[0] += "  (machine-drafted: needs review by a native speaker)"
    lines.append(f"  {'flow':<28} {'translated':>10} {'missing':>8} {'fuzzy':>6}")
    for flow, counts in sorted(report.by_flow.items()):
        lines.append(f"  {flow:<28} {counts.translated:>10} {counts.missing:>8} {counts.fuzzy:>6}")
    if report.forced_ucs2:
        letters = "".join(sorted(report.forced_ucs2))[:40]
        lines.append(
            f"  UCS-2 (70 characters a segment, about {UCS2_COST:.1f} times the cost of "
            f"GSM-7), because of the language's own letters: {letters}"
        )
    for event, fields in sorted(report.missing_in_events.items()):
        lines.append(
            f"  event {event} does not give {', '.join(fields)} in {report.language}: its "
            f"readers get English there (write them as {{en: ..., {report.language}: ...}})"
        )
    return "\n".join(lines)


def segment_table(reports: Sequence[LanguageReport]) -> str:
    """Markdown: segments of every flow message as sent, in each language (the longest over
    the events, when there are several)."""
    languages = [r.language for r in reports]
    header = "| flow | step | " + " | ".join(languages) + " |"
    rows = [header, "|" + "---|" * (2 + len(languages))]
    longest: list[dict[tuple[str, str], SegmentCount]] = []
    order: dict[tuple[str, str], None] = {}
    for report in reports:
        found: dict[tuple[str, str], SegmentCount] = {}
        for sent in report.sent:
            label = sent.step if sent.label == "send" else f"{sent.step} ({sent.label})"
            key = (sent.flow, label)
            order.setdefault(key, None)
            if key not in found or sent.count.segments > found[key].segments:
                found[key] = sent.count
        longest.append(found)
    for key in sorted(order, key=lambda k: k[0]):
        cells = [_cell(found[key]) if key in found else "-" for found in longest]
        rows.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(count: SegmentCount) -> str:
    return f"{count.segments} ({'GSM' if count.encoding == 'GSM-7' else 'UCS-2'})"
