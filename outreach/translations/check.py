"""Checking translations before anyone receives them.

For each language: how much of each flow is translated, missing or fuzzy; and errors where a
translation would break a message: a ``{placeholder}`` dropped or added, two answers of a
choice that read the same, or a message that grows past the segment limit (with the encoding,
because one Welsh ŵ or Polish ł turns a whole message into UCS-2 at 70 characters a segment).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from outreach.errors import TemplateSyntaxError
from outreach.flows.loader import FlowDefinition
from outreach.flows.templates import placeholders
from outreach.flows.validate import fill_samples
from outreach.i18n.catalogs import DOMAIN
from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import SegmentCount, count_segments, non_gsm7_characters
from outreach.i18n.text import normalize

SYSTEM = "(system messages)"


@dataclass
class Counts:
    translated: int = 0
    missing: int = 0
    fuzzy: int = 0


@dataclass
class LanguageReport:
    """One language's state, flow by flow, and what is wrong in it."""

    language: str
    header_note: str = ""
    by_flow: dict[str, Counts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    segments: dict[str, SegmentCount] = field(default_factory=dict)  # msgid -> as translated
    forced_ucs2: set[str] = field(default_factory=set)  # letters of the language that force it


def load_template(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def check_language(
    language: str,
    po_path: Path,
    template: Catalog,
    flows: Mapping[str, FlowDefinition],
    *,
    max_segments: int,
) -> LanguageReport:
    """Compare one language's catalog with the template and the flows."""
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language.replace("-", "_"))
    report = LanguageReport(language, header_note=str(catalog.header_comment or ""))
    flow_of_file = {Path(d.path).name: d.id for d in flows.values()}
    translations: dict[str, str] = {}
    for entry in template:
        if not entry.id or not isinstance(entry.id, str):
            continue
        owner = _owner(entry, flow_of_file)
        counts = report.by_flow.setdefault(owner, Counts())
        found = catalog.get(entry.id)
        text = found.string if found is not None and isinstance(found.string, str) else ""
        if found is not None and found.fuzzy and text:
            counts.fuzzy += 1
            continue
        if not text:
            counts.missing += 1
            continue
        counts.translated += 1
        translations[entry.id] = text
        report.errors.extend(_placeholder_errors(language, entry.id, text))
        count = count_segments(sanitize_sms(fill_samples(text)))
        report.segments[entry.id] = count
        if count.encoding == "UCS-2" and text != entry.id:  # not names kept as written
            report.forced_ucs2.update(non_gsm7_characters(sanitize_sms(text)))
        if count.segments > max_segments:
            english = count_segments(sanitize_sms(fill_samples(entry.id)))
            report.errors.append(
                f"{language}: {_short(entry.id)!r} is {count} once translated "
                f"(English: {english}), over the limit of {max_segments}: shorten the translation"
            )
    report.errors.extend(_choice_errors(language, flows, translations))
    return report


def _owner(entry: Message, flow_of_file: Mapping[str, str]) -> str:
    for filename, _ in entry.locations:
        flow = flow_of_file.get(Path(filename).name)
        if flow is not None:
            return flow
    return SYSTEM


def _placeholder_errors(language: str, msgid: str, text: str) -> Iterable[str]:
    try:
        wanted = Counter((p.name, p.format) for p in placeholders(msgid))
        got = Counter((p.name, p.format) for p in placeholders(text))
    except TemplateSyntaxError as exc:
        yield f"{language}: {_short(msgid)!r}: the translation has a broken placeholder: {exc}"
        return
    for name, form in wanted - got:
        shown = f"{{{name}:{form}}}" if form else f"{{{name}}}"
        yield f"{language}: {_short(msgid)!r}: the translation drops {shown}; keep it as it is"
    for name, form in got - wanted:
        shown = f"{{{name}:{form}}}" if form else f"{{{name}}}"
        yield f"{language}: {_short(msgid)!r}: the translation adds {shown}, not in the English"


def _choice_errors(
    language: str, flows: Mapping[str, FlowDefinition], translations: Mapping[str, str]
) -> Iterable[str]:
    """Two options of one question that a person could not tell apart in this language."""
    for definition in flows.values():
        for step in definition.flow.steps:
            if step.ask is None or step.ask.choice is None:
                continue
            seen: dict[str, str] = {}
            for key, option in step.ask.choice.items():
                words = {normalize(translations.get(option.label, option.label))}
                words |= {normalize(w) for w in option.match}
                for word in words:
                    if word in seen and seen[word] != key:
                        yield (
                            f"{language}: flow {definition.id}, step {step.id}: options "
                            f"{seen[word]!r} and {key!r} both answer to {word!r}"
                        )
                    seen.setdefault(word, key)


def _short(text: str) -> str:
    return text if len(text) <= 48 else text[:47] + "…"


def catalog_path(locales: Path, language: str) -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
