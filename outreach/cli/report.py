"""``outreach report EVENT``: an event's results as a document for a board (HTML, PDF), or
its answers under pseudonyms for analysis (CSV, JSON, FLOIP)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import database, fail, settings_of
from outreach.clock import utcnow
from outreach.services import exports
from outreach.services.decisions import all_results
from outreach.services.results import Results
from outreach.services.statements import DEFAULT_GROUPS, Statements
from outreach.web import report as document


class Format(StrEnum):
    html = "html"
    pdf = "pdf"
    csv = "csv"
    json = "json"
    floip = "floip"


def report(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(metavar="EVENT", help="The event id")],
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="html or pdf (the board's document), json (the numbers, and the answers "
            "under pseudonyms), csv (the answers under pseudonyms), floip (the answers as "
            "FLOIP results packages)",
        ),
    ] = "html",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write here (default: standard output)"
        ),
    ] = None,
    groups: Annotated[
        str,
        typer.Option(
            "--groups",
            metavar="FIELD",
            help="Group statement votes by a contact field (role, age_band...) or "
            "tags:patient,carer,... (default: role)",
        ),
    ] = DEFAULT_GROUPS,
) -> None:
    """An event's results: who was invited, came and answered, by declared group, what
    people said, and the common ground and divisions between groups on statements (counts
    under 5 shown as "<5")."""
    try:
        chosen = Format(format_)
    except ValueError:
        choices = ", ".join(f.value for f in Format)
        raise fail(f"unknown format {format_!r}: use one of {choices}") from None
    if chosen is Format.pdf and output is None and sys.stdout.isatty():
        raise fail("a PDF is not for the terminal: add --output report.pdf")
    if chosen is Format.pdf and not document.CHROMIUM.exists():
        raise fail(
            f"a PDF is printed by Chromium, not found at {document.CHROMIUM}: "
            "install it (apt-get install chromium), or use --format html"
        )
    settings = settings_of(ctx)
    with database(ctx) as db:
        results = Results(db)
        found = results.event(event_id)
        decided = all_results(db, event=event_id)
        common = Statements(db).common_ground(event_id, groups=groups)
        if chosen in (Format.html, Format.pdf):
            text = document.html(
                found,
                results.quotes(event_id),
                now=utcnow(),
                decisions=decided,
                common_ground=common,
            )
            if chosen is Format.pdf:
                _write(document.pdf(text), output)
                return
        else:
            key = settings.secret_key.get_secret_value() if settings.secret_key else None
            rows = exports.pseudonymise(results.answers(event_id), exports.Pseudonyms(key))
            if chosen is Format.json:
                text = exports.to_json(
                    {
                        **found.to_json(),
                        "common_ground": common.to_json(),
                        "decisions": [decision.to_json() for decision in decided],
                        "answers": rows,
                    }
                )
            elif chosen is Format.csv:
                text = exports.to_csv(rows)
            else:
                flows = sorted({row["flow"] for row in rows})
                text = exports.to_json(
                    [
                        exports.floip(flow, exports.floip_questions(rows, flow), rows, now=utcnow())
                        for flow in flows
                    ]
                )
    _write(text.encode(), output)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"written to {output}", err=True)
