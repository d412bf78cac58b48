"""``outreach flows``: check, rehearse and draw the coordinators' conversation flows."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import fail, settings_of
from outreach.cli.help import Typer
from outreach.conversations.simulation import Simulation
from outreach.errors import FlowLoadError, FlowNotFound
from outreach.flows.diagram import mermaid
from outreach.services import flows as flow_service

app = Typer(help="Check, try and draw conversation flows.")


@app.command("validate")
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH", help="Flow files or folders (default: the flows folder)"),
    ] = None,
) -> None:
    """Check flows: every problem as file:line:column: message (hint). Exit 1 on errors."""
    settings = settings_of(ctx)
    report = flow_service.check_flows(settings, paths or [settings.flows_dir])
    for problem in report.problems:
        typer.echo(str(problem))
    errors, warnings = len(report.errors), len(report.warnings)
    checked = (
        f"{len(report.flows)} flow(s)"
        + (f" and {report.events} event(s)" if report.events else "")
        + (f" and {report.partners} partner(s)" if report.partners else "")
        + (f" and {report.decisions} decision(s)" if report.decisions else "")
    )
    summary = f"{checked} checked: {errors} error(s), {warnings} warning(s)"
    if errors:
        raise fail(summary)
    typer.echo(("all valid; " if not warnings else "valid with warnings; ") + summary)


@app.command("simulate")
def simulate(
    ctx: typer.Context,
    flow: Annotated[
        str, typer.Argument(metavar="FLOW", help="The flow id, e.g. big-conversation-invite")
    ],
    lang: Annotated[
        str | None, typer.Option(metavar="LANGUAGE", help="The person's language, e.g. cy")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME=VALUE", help="A contact field, e.g. first_name=Olu"),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(metavar="TAG", help="A tag the person has")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the transcript as JSON")] = False,
    at: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Start time, e.g. 2026-03-01T10:00+00:00 (default: now)"),
    ] = None,
) -> None:
    """Talk to a flow as a community member would.

    In a terminal it is a chat; otherwise each line of standard input is one reply.
    "/wait 48h" moves the clock on (firing reminders and timeouts), "/press KEY" presses
    an option's button.
    """
    settings = settings_of(ctx)
    fields = {}
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--field takes NAME=VALUE, not {item!r}")
        fields[name.strip()] = value
    try:
        now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise fail(
            f"--at takes an ISO 8601 time like 2026-03-01T10:00:00+00:00, not {at!r}"
        ) from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        sim = flow_service.rehearse(settings, now=now, language=lang, fields=fields, tags=tag or ())
        sim.start(flow)
    except (FlowLoadError, FlowNotFound) as exc:
        raise fail(str(exc)) from None
    if sys.stdin.isatty() and not as_json:
        _chat(sim)
        return
    sim.run_script(line for line in sys.stdin if line.strip())
    if as_json:
        typer.echo(json.dumps(sim.result(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_transcript(sim, 0)


@app.command("diagram")
def diagram(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(metavar="FLOW", help="The flow id")],
) -> None:
    """Print a Mermaid flowchart of a flow (paste it into any Mermaid viewer)."""
    settings = settings_of(ctx)
    try:
        library = flow_service.load_flows(settings)
        definition = library.get(flow)
        if definition is None:
            raise FlowNotFound(flow, list(library))
    except (FlowLoadError, FlowNotFound) as exc:
        raise fail(str(exc)) from None
    typer.echo(mermaid(definition))


# -- terminal chat ---------------------------------------------------------------------------

_CHAT_HELP = "Type a reply. /wait 48h moves the clock on, /press KEY presses a button, /quit ends."


def _chat(sim: Simulation) -> None:
    typer.secho(_CHAT_HELP, dim=True)
    shown = _print_transcript(sim, 0)
    while sim.session is not None and sim.session.active:
        try:
            line = typer.prompt("you", prompt_suffix="> ")
        except (EOFError, typer.Abort):
            break
        if line.strip() in ("/quit", "/exit"):
            break
        if line.strip() == "/help":
            typer.echo(_CHAT_HELP)
            continue
        try:
            sim.run_script([line])
        except ValueError as exc:
            typer.secho(str(exc), fg=typer.colors.YELLOW)
        shown = _print_transcript(sim, shown)
    if sim.answers:
        typer.secho("Saved answers: " + json.dumps(sim.answers, ensure_ascii=False), dim=True)


def _print_transcript(sim: Simulation, start: int) -> int:
    for entry in sim.transcript[start:]:
        stamp = entry.at.strftime("%a %d %b %H:%M")
        if entry.who == "outreach":
            typer.secho(f"[{stamp}] Outreach:", fg=typer.colors.CYAN)
            typer.echo("  " + entry.text.replace("\n", "\n  "))
        elif entry.who == "system":
            typer.secho(f"[{stamp}] ({entry.text})", dim=True)
        elif not sys.stdin.isatty():
            typer.echo(f"[{stamp}] You: {entry.text}")
    return len(sim.transcript)
