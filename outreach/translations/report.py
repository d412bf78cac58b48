"""Turning translation checks into text for people: a summary per language and a segment table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from outreach.flows.loader import FlowDefinition
from outreach.flows.validate import fill_samples
from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import count_segments
from outreach.translations.check import LanguageReport

UCS2_COST = 153 / 67  # characters a segment, GSM-7 against UCS-2, once a message is split


def summary(report: LanguageReport) -> str:
    """A small table of translated / missing / fuzzy per flow, and the encoding it forces."""
    lines = [f"{report.language}"]
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
    return "\n".join(lines)


def segment_table(reports: Sequence[LanguageReport], flows: Mapping[str, FlowDefinition]) -> str:
    """Markdown: segments of every flow message, in English and in each language."""
    languages = [r.language for r in reports]
    header = "| flow | step | en | " + " | ".join(languages) + " |"
    rows = [header, "|" + "---|" * (3 + len(languages))]
    for definition in sorted(flows.values(), key=lambda d: d.id):
        for step in definition.flow.steps:
            for text, label in ((step.send, step.id), (step.reminder, f"{step.id} (reminder)")):
                if not text:
                    continue
                english = count_segments(sanitize_sms(fill_samples(text)))
                cells = [_cell(english.segments, english.encoding)]
                for report in reports:
                    found = report.segments.get(text)
                    cells.append(_cell(found.segments, found.encoding) if found else "-")
                rows.append(f"| {definition.id} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(segments: int, encoding: str) -> str:
    return f"{segments} ({'GSM' if encoding == 'GSM-7' else 'UCS-2'})"
