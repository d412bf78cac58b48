"""``outreach i18n``: the translators' catalogs, from extraction to the check CI runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import fail, settings_of
from outreach.cli.help import Typer
from outreach.errors import FlowLoadError
from outreach.services import flows as flow_service
from outreach.translations import report as check_report
from outreach.translations import workflow as translations

app = Typer(help="Translations: extract, update, compile, check.")

SEGMENTS_START, SEGMENTS_END = "<!-- segments:start -->", "<!-- segments:end -->"


def _paths(ctx: typer.Context) -> translations.Paths:
    return translations.Paths.from_settings(settings_of(ctx))


@app.command("extract")
def extract(ctx: typer.Context) -> None:
    """Write locales/messages.pot from the flows and the code (as pybabel extract does)."""
    typer.echo(f"wrote {translations.extract(_paths(ctx))}")


@app.command("update")
def update(ctx: typer.Context) -> None:
    """Add new texts from the template to every language's catalog."""
    translations.update(_paths(ctx))
    typer.echo("catalogs updated: translators can now fill in the new, empty entries")


@app.command("compile")
def compile_(ctx: typer.Context) -> None:
    """Build .mo files (optional: Outreach reads .po files directly)."""
    translations.compile_catalogs(_paths(ctx))


@app.command("check")
def check(
    ctx: typer.Context,
    update_docs: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Rewrite the segment table in this Markdown file"),
    ] = None,
) -> None:
    """How complete each language is; errors (exit 1) for broken or too long translations."""
    settings = settings_of(ctx)
    docs = update_docs.read_text(encoding="utf-8") if update_docs is not None else ""
    try:
        flows = flow_service.load_flows(settings)
        events = list(flow_service.load_events(settings, flows).values())
    except FlowLoadError as exc:
        raise fail(str(exc)) from None
    paths = _paths(ctx)
    reports = translations.check(
        paths,
        flows,
        max_segments=settings.max_segments_translated,
        events=events,
        stop_footer=settings.alphanumeric_opt_out if settings.alphanumeric_sender else None,
    )
    errors = [e for r in reports for e in r.errors]
    for report in reports:
        typer.echo(check_report.summary(report))
    if update_docs is not None:
        table = check_report.segment_table(reports)
        before, _, rest = docs.partition(SEGMENTS_START)
        _, found, after = rest.partition(SEGMENTS_END)
        if not found:
            raise fail(f"{update_docs} has no {SEGMENTS_START} ... {SEGMENTS_END} section")
        update_docs.write_text(
            f"{before}{SEGMENTS_START}\n{table}\n{SEGMENTS_END}{after}", encoding="utf-8"
        )
    for error in errors:
        typer.secho(error, err=True, fg=typer.colors.RED)
    if errors:
        raise fail(f"{len(errors)} translation error(s)")
    typer.echo(f"all {len(reports)} language(s) pass")
