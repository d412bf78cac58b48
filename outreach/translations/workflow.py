"""The translators' workflow, wrapping Babel: extract, update, compile, check.

``extract`` runs exactly what ``pybabel extract`` runs with the project's ``babel.cfg``, so the
two give the same template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from outreach.channels.sms import SmsRenderer
from outreach.events.library import EventDefinition
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.i18n.catalogs import DOMAIN, Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.settings import Settings
from outreach.translations.check import (
    LanguageReport,
    catalog_path,
    check_language,
    length_errors,
    load_template,
    measure_sent,
)

# N_ marks a text; NC_ a text with a context (the words people use for one meaning).
KEYWORDS = ("N_", "NC_:1c,2")


@dataclass(frozen=True)
class Paths:
    root: Path  # the project: where babel.cfg and the folders it names are
    locales: Path

    @property
    def template(self) -> Path:
        return self.locales / f"{DOMAIN}.pot"

    @classmethod
    def from_settings(cls, settings: Settings, root: Path | None = None) -> Paths:
        return cls(
            root or Path("."), settings.locales_dir
        )  # relative: locations as pybabel writes them


def _babel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def extract(paths: Paths) -> Path:
    """Write the template (``messages.pot``) from the flows and the code."""
    paths.locales.mkdir(parents=True, exist_ok=True)
    arguments = [
        "extract",
        "-F",
        str(paths.root / "babel.cfg"),
        "-o",
        str(paths.template),
        "--sort-by-file",
        "--project",
        "Outreach",
        "--add-comments",
        "TRANSLATORS:",
    ]
    for keyword in KEYWORDS:
        arguments += ["-k", keyword]
    _babel(*arguments, str(paths.root))
    return paths.template


def update(paths: Paths) -> None:
    """Bring every language's catalog up to date with the template (new texts come empty)."""
    _babel(
        "update",
        "-i",
        str(paths.template),
        "-d",
        str(paths.locales),
        "-D",
        DOMAIN,
        "--ignore-obsolete",
    )


def compile_catalogs(paths: Paths) -> None:
    """Build the binary ``.mo`` files (optional: Outreach reads the ``.po`` files directly)."""
    _babel("compile", "-d", str(paths.locales), "-D", DOMAIN, "--statistics")


def languages(paths: Paths) -> list[str]:
    return sorted(p.parent.parent.name for p in paths.locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def check(
    paths: Paths,
    flows: dict[str, FlowDefinition],
    *,
    max_segments: int,
    events: Sequence[EventDefinition] = (),
    stop_footer: str | Mapping[str, str] | None = None,
) -> list[LanguageReport]:
    """Every language's report, English (the source) first; errors are in each report's
    ``errors``. Flow messages are measured as the SMS channel will send them (with
    ``stop_footer`` when messages come from a sender ID nobody can reply to)."""
    template = load_template(paths.template)
    catalogs = Catalogs(paths.locales)
    engine = Engine(flows, translate=catalogs.gettext, vocabulary=Vocabulary(catalogs))
    renderer = SmsRenderer(translate=catalogs.gettext, stop_footer=stop_footer)
    english = LanguageReport("en")
    english.sent = measure_sent("en", engine, renderer, flows, events)
    english.errors = list(length_errors("en", english.sent, max_segments))
    return [
        english,
        *(
            check_language(
                language,
                catalog_path(paths.locales, language),
                template,
                flows,
                max_segments=max_segments,
                engine=engine,
                renderer=renderer,
                events=events,
            )
            for language in languages(paths)
        ),
    ]
