"""Checking translations before anyone receives them.

For each language: how much of each flow is translated, missing or fuzzy; and errors where a
translation would break a message: a ``{placeholder}`` dropped or added, two answers of a
choice that read the same, the same word given two meanings (yes and no, or no and stop), or a
message longer than the segment limit. Flow messages are measured as they will really be sent:
filled in with each shipped event's own values in that language, with the numbered options
the SMS channel adds, hints and reminders included (the encoding matters: one Welsh ŵ or
Polish ł turns a whole message into UCS-2 at 70 characters a segment). Events whose texts are
not given in a language are reported, since its readers would get those parts in English.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from outreach.channels.sms import SmsRenderer
from outreach.errors import TemplateSyntaxError
from outreach.events.library import EventDefinition
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact
from outreach.flows.templates import placeholders
from outreach.flows.validate import fill_samples, sample_for
from outreach.i18n.catalogs import DOMAIN
from outreach.i18n.sanitize import sanitize_sms
from outreach.i18n.segments import SegmentCount, count_segments, non_gsm7_characters
from outreach.i18n.text import normalize
from outreach.i18n.vocabulary import (
    ANSWERS,
    COMMANDS,
    ENGLISH,
    join_words,
    option_context,
    split_words,
)

SYSTEM = "(system messages)"
WORDS = "(words people use)"
SAMPLE_EVENT = "(sample values)"
_SAMPLE_TIME = datetime(2026, 3, 2, 10, tzinfo=UTC)


@dataclass
class Counts:
    translated: int = 0
    missing: int = 0
    fuzzy: int = 0


@dataclass(frozen=True, slots=True)
class Sent:
    """One message of a flow as it would be sent in one language about one event."""

    flow: str
    step: str
    label: str  # send | reminder | hint
    event: str
    count: SegmentCount
    text: str
    asks: bool = False  # a question, which could go as a message of its own


@dataclass
class LanguageReport:
    """One language's state, flow by flow, and what is wrong in it."""

    language: str
    header_note: str = ""
    by_flow: dict[str, Counts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    segments: dict[str, SegmentCount] = field(default_factory=dict)  # msgid -> as translated
    sent: list[Sent] = field(default_factory=list)  # flow messages as they will be sent
    forced_ucs2: set[str] = field(default_factory=set)  # letters of the language that force it
    missing_in_events: dict[str, list[str]] = field(default_factory=dict)  # event -> fields


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
    engine: Engine | None = None,
    renderer: SmsRenderer | None = None,
    events: Sequence[EventDefinition] = (),
) -> LanguageReport:
    """Compare one language's catalog with the template and the flows; with an ``engine``
    translating from these catalogs and a ``renderer``, measure every flow message as sent."""
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language.replace("-", "_"))
    report = LanguageReport(language, header_note=str(catalog.header_comment or ""))
    flow_of_file = {Path(d.path).name: d.id for d in flows.values()}
    translations: dict[tuple[str | None, str], str] = {}
    for entry in template:
        if not entry.id or not isinstance(entry.id, str):
            continue
        owner = _owner(entry, flow_of_file)
        counts = report.by_flow.setdefault(owner, Counts())
        found = catalog.get(entry.id, context=entry.context)
        text = found.string if found is not None and isinstance(found.string, str) else ""
        if found is not None and found.fuzzy and text:
            counts.fuzzy += 1
            continue
        if not text:
            counts.missing += 1
            continue
        counts.translated += 1
        translations[(entry.context, entry.id)] = text
        if entry.context is not None:
            continue  # a list of words, never sent
        report.errors.extend(_placeholder_errors(language, entry.id, text))
        count = count_segments(sanitize_sms(fill_samples(text)))
        report.segments[entry.id] = count
        if count.encoding == "UCS-2" and text != entry.id:  # not names kept as written
            report.forced_ucs2.update(non_gsm7_characters(sanitize_sms(text)))
        if owner == SYSTEM and count.segments > max_segments:
            english = count_segments(sanitize_sms(fill_samples(entry.id)))
            report.errors.append(
                f"{language}: {_short(entry.id)!r} is {count} once translated "
                f"(English: {english}), over the limit of {max_segments}: shorten the translation"
            )
    report.errors.extend(_choice_errors(language, flows, translations))
    report.errors.extend(_vocabulary_errors(language, translations))
    if engine is not None and renderer is not None:
        report.sent = measure_sent(language, engine, renderer, flows, events)
        report.errors.extend(length_errors(language, report.sent, max_segments))
    for event in events:
        lacking = event.spec.missing_languages([language]).get(language)
        if lacking:
            report.missing_in_events[event.id] = lacking
    return report


def measure_sent(
    language: str,
    engine: Engine,
    renderer: SmsRenderer,
    flows: Mapping[str, FlowDefinition],
    events: Sequence[EventDefinition],
) -> list[Sent]:
    """Every message of every flow, rendered for the phone as it will be sent in
    ``language``: for each event, with its values (or with typical ones, when there is none)."""
    sent: list[Sent] = []
    settings: list[tuple[str, Mapping[str, object] | None, str]] = [
        (e.id, e.spec.fields(engine.translate, [language]), e.spec.timezone) for e in events
    ]
    if not settings:
        settings = [(SAMPLE_EVENT, demo_event(_SAMPLE_TIME), "Europe/London")]
    for event_id, values, timezone in settings:
        starts = values.get("starts_at") if values else None
        at = starts - timedelta(days=21) if isinstance(starts, datetime) else _SAMPLE_TIME
        contact = Contact(
            language=language, timezone=timezone, fields={"first_name": sample_for("first_name")}
        )
        for definition in flows.values():
            answers = {
                step.save_as or step.id: sample_for(step.save_as or step.id)
                for step in definition.flow.steps
                if step.ask is not None
            }
            for step, label, content in engine.messages_of(
                definition.id,
                contact=contact,
                event=values,
                at=at,
                answers=answers,
            ):
                rendered = renderer.render(content, language)
                count = count_segments(rendered.text)
                asks = content.answer is not None and label == "send" and bool(step.send)
                sent.append(
                    Sent(definition.id, step.id, label, event_id, count, rendered.text, asks)
                )
    return sent


def length_errors(language: str, sent: Sequence[Sent], limit: int) -> Iterator[str]:
    for message in sent:
        if message.count.segments > limit:
            about = "" if message.event == SAMPLE_EVENT else f" for event {message.event}"
            split = ", or send the question as a step of its own" if message.asks else ""
            yield (
                f"{language}: flow {message.flow}, step {message.step} ({message.label}) is "
                f"{message.count} as sent{about}, over the limit of {limit}: shorten the "
                f"translation (or the event's texts){split}"
            )


def _owner(entry: Message, flow_of_file: Mapping[str, str]) -> str:
    for filename, _ in entry.locations:
        flow = flow_of_file.get(Path(filename).name)
        if flow is not None:
            return flow
    if entry.context is not None:
        return WORDS
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
    language: str,
    flows: Mapping[str, FlowDefinition],
    translations: Mapping[tuple[str | None, str], str],
) -> Iterable[str]:
    """Two options of one question that a person could not tell apart in this language."""
    for definition in flows.values():
        for step in definition.flow.steps:
            if step.ask is None or step.ask.choice is None:
                continue
            seen: dict[str, str] = {}
            for key, option in step.ask.choice.items():
                words = {normalize(translations.get((None, option.label), option.label))}
                words |= {normalize(w) for w in option.match}
                context = option_context(definition.id, step.id, key)
                own = translations.get((context, join_words(option.match)), "")
                words |= {normalize(w) for w in split_words(own)}
                for word in sorted(words - {""}):
                    if word in seen and seen[word] != key:
                        yield (
                            f"{language}: flow {definition.id}, step {step.id}: options "
                            f"{seen[word]!r} and {key!r} both answer to {word!r}"
                        )
                    seen.setdefault(word, key)


def _vocabulary_errors(
    language: str, translations: Mapping[tuple[str | None, str], str]
) -> Iterable[str]:
    """A word given two meanings: as a yes and a no, or as an answer and a command (a reply
    "x" would then opt someone out), or as a polite word and a command ("stop please" would
    then mean nothing). A polite word may also be an answer alone ("ji")."""
    meanings: dict[str, str] = {}
    for meaning in (*COMMANDS, *ANSWERS, "filler"):
        for word in split_words(translations.get(_key(meaning), "")):
            norm = normalize(word)
            held = meanings.setdefault(norm, meaning)
            if held != meaning and not (meaning == "filler" and held in ANSWERS):
                yield (
                    f"{language}: {word!r} is given as a word for both {held} and {meaning}: "
                    "keep it in one list"
                )
    negators = {normalize(w) for w in split_words(translations.get(_key("not"), ""))}
    for word in split_words(translations.get(_key("filler"), "")):
        if normalize(word) in negators:
            yield (
                f'{language}: {word!r} is a polite word and a "not": "{word} stop" could '
                "mean do not stop; take it out of the polite words"
            )


def _key(meaning: str) -> tuple[str, str]:
    return (f"words: {meaning}", ENGLISH[meaning])


def _short(text: str) -> str:
    return text if len(text) <= 48 else text[:47] + "…"


def catalog_path(locales: Path, language: str) -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
