"""The ``outreach`` command. Each command turns its options into a service call and prints."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from outreach.errors import FlowLoadError, FlowNotFound
from outreach.flows.diagram import mermaid
from outreach.flows.simulation import Simulation
from outreach.services import flows as flow_service
from outreach.settings import Settings, load_settings

app = typer.Typer(no_args_is_help=True, help="Outreach: co-produce services by SMS and Slack.")
flows_app = typer.Typer(no_args_is_help=True, help="Check, try and draw conversation flows.")
app.add_typer(flows_app, name="flows")


def _settings(ctx: typer.Context) -> Settings:
    if not isinstance(ctx.obj, Settings):
        ctx.obj = load_settings()
    return ctx.obj


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


# -- flows -----------------------------------------------------------------------------------


@flows_app.command("validate")
def flows_validate(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(help="Flow files or folders")] = None,
) -> None:
    """Check flows: every problem as file:line:column: message (hint). Exit 1 on errors."""
    settings = _settings(ctx)
    report = flow_service.check_flows(settings, paths or [settings.flows_dir])
    for problem in report.problems:
        typer.echo(str(problem))
    errors, warnings = len(report.errors), len(report.warnings)
    summary = f"{len(report.flows)} flow(s) checked: {errors} error(s), {warnings} warning(s)"
    if errors:
        raise _fail(summary)
    typer.echo(("all valid; " if not warnings else "valid with warnings; ") + summary)


@flows_app.command("simulate")
def flows_simulate(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="The flow id, e.g. big-conversation-invite")],
    lang: Annotated[str | None, typer.Option(help="The person's language, e.g. cy")] = None,
    field: Annotated[list[str] | None, typer.Option(help="A contact field, name=value")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag the person has")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the transcript as JSON")] = False,
    at: Annotated[str | None, typer.Option(help="Start time, ISO 8601 (default: now)")] = None,
) -> None:
    """Talk to a flow as a community member would.

    In a terminal it is a chat; otherwise each line of standard input is one reply.
    ``/wait 48h`` moves the clock on (firing reminders and timeouts), ``/press KEY`` presses
    an option's button.
    """
    settings = _settings(ctx)
    fields = {}
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--field takes name=value, not {item!r}")
        fields[name.strip()] = value
    try:
        now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise _fail(
            f"--at takes an ISO 8601 time like 2026-03-01T10:00:00+00:00, not {at!r}"
        ) from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        sim = flow_service.rehearse(settings, now=now, language=lang, fields=fields, tags=tag or ())
        sim.start(flow)
    except (FlowLoadError, FlowNotFound) as exc:
        raise _fail(str(exc)) from None
    if sys.stdin.isatty() and not as_json:
        _chat(sim)
        return
    sim.run_script(line for line in sys.stdin if line.strip())
    if as_json:
        typer.echo(json.dumps(sim.result(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_transcript(sim, 0)


@flows_app.command("diagram")
def flows_diagram(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="The flow id")],
) -> None:
    """Print a Mermaid flowchart of a flow (paste it into any Mermaid viewer)."""
    settings = _settings(ctx)
    try:
        library = flow_service.load_flows(settings)
        definition = library.get(flow)
        if definition is None:
            raise FlowNotFound(flow, list(library))
    except (FlowLoadError, FlowNotFound) as exc:
        raise _fail(str(exc)) from None
    typer.echo(mermaid(definition))


# -- the whole system ------------------------------------------------------------------------


@app.command()
def demo(ctx: typer.Context) -> None:
    """Try Outreach with no accounts: pick an example flow and talk to it as a community member."""
    settings = _settings(ctx)
    try:
        library = flow_service.load_flows(settings)
    except FlowLoadError as exc:
        raise _fail(str(exc)) from None
    names = sorted(library)
    typer.secho("Outreach demo: you are a community member with a phone.", bold=True)
    for number, name in enumerate(names, start=1):
        typer.echo(f"  {number}. {name}: {library[name].flow.description}")
    choice = typer.prompt("Which flow would you like to try? (number)", default="1")
    try:
        flow = names[int(choice) - 1]
    except (ValueError, IndexError):
        raise _fail(f"pick a number from 1 to {len(names)}") from None
    sim = flow_service.rehearse(settings, now=datetime.now(UTC))
    sim.start(flow)
    _chat(sim)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on")] = 8000,
) -> None:
    """Run the web process (Twilio webhooks, Slack events, simulator, dashboard)."""
    typer.echo(f"The web process (on {host}:{port}) arrives with the SMS work (issue 4).")


@app.command()
def worker() -> None:
    """Run the worker (scheduler and dispatcher)."""
    typer.echo("The worker arrives with the scheduler work (issue 5).")


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


def main() -> None:
    app()
