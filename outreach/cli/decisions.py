"""``outreach decisions``: check a decision, see who it will reach, send it, and read what
came of it ("you said, we did")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import actor, database, fail, runtime, settings_of
from outreach.cli.help import Typer
from outreach.decisions.schema import DecisionSpec
from outreach.errors import DecisionError
from outreach.flows.loader import kind_of
from outreach.services import flows as flow_service
from outreach.services.decisions import DecisionResults, all_results, find, results
from outreach.services.runtime import Runtime

app = Typer(help='"You said, we did": check, preview and send decisions, and see replies.')
Name = Annotated[
    str,
    typer.Argument(
        metavar="DECISION",
        help="A decision file, or the id of one in flows/decisions/ (or of one recorded on "
        "the web)",
    ),
]
REASONS = {
    "opted_out": "opted out",
    "no_text": "no text in their language",
    "unreachable": "no address to reach them at",
}


def _decision(rt: Runtime, name: str) -> tuple[DecisionSpec, str]:
    found = find(rt.settings, name, rt.engine.flows)
    if found is not None:
        return found
    try:
        return rt.decisions.recorded(name), "web"
    except DecisionError:
        raise DecisionError(
            f"no decision {name!r}: give a decision file, or the id of one in "
            f"{rt.settings.flows_dir / 'decisions'}"
        ) from None


@app.command("check")
def check(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[PATH]...", help="Decision files or folders (default: flows/)"),
    ] = None,
) -> None:
    """Check decisions: every problem as file:line:column: message (hint). Exit 1 on errors."""
    settings = settings_of(ctx)
    report = flow_service.check_flows(settings, paths or [settings.flows_dir])
    shown = [p for p in report.problems if _is_decision(p.file)] if not paths else report.problems
    for problem in shown:
        typer.echo(str(problem))
    errors = sum(p.severity == "error" for p in shown)
    summary = f"{report.decisions} decision(s) checked: {errors} error(s)"
    if errors:
        raise fail(summary)
    typer.echo(f"all valid; {summary}")


def _is_decision(file: str) -> bool:
    return kind_of(Path(file)) == "decision"


@app.command("preview")
def preview(ctx: typer.Context, decision: Name) -> None:
    """Who the decision will reach, per language, and who will not and why. Sends nothing."""
    with runtime(ctx) as rt:
        spec, source = _decision(rt, decision)
        found = rt.decisions.preview(spec)
    shown = found.preview
    typer.echo(f"{spec.decision}: {spec.title} ({source})")
    typer.echo(f"will be sent to {_people(shown.will_get)}")
    for language in shown.languages:
        typer.echo(
            f"  {language.language}: {_people(language.people)}, {language.segments} SMS "
            f"segment(s) each, about {language.cost:.2f} {shown.currency}"
        )
    for reason, n in shown.will_not.items():
        if n:
            typer.echo(f"will not be sent it: {n} ({REASONS[reason]})")
    for code, n in found.no_text.items():
        typer.echo(f"  no text in {code}: {_people(n)} (add text: {code}: ... to tell them)")
    if shown.held_till_morning:
        typer.echo(f"{shown.held_till_morning} will wait for the morning where they are")
    if found.already_sent:
        typer.echo(f"already sent to {_people(found.already_sent)} (not sent again)")
    if spec.follow_up:
        typer.echo('each is then asked: "Does this feel right to you?" (yes, no, partly)')


@app.command("send")
def send(ctx: typer.Context, decision: Name) -> None:
    """Send the decision to everyone who contributed and has not been sent it, once each."""
    with runtime(ctx) as rt:
        spec, source = _decision(rt, decision)
        done = rt.decisions.send(spec, source=source, actor=actor())
    typer.echo(f"{spec.decision}: sent to {_people(done.sent)}")
    for reason, n in done.not_sent.items():
        if n:
            typer.echo(f"not sent: {n} ({REASONS[reason]})")


@app.command("report")
def report(
    ctx: typer.Context,
    decision: Annotated[
        str | None, typer.Argument(metavar="[DECISION]", help="A recorded decision's id")
    ] = None,
) -> None:
    """What became of each decision sent: who was told, who not and why, what they replied
    (counts under 5 shown as "<5")."""
    with database(ctx) as db:
        found = [results(db, decision)] if decision else all_results(db)
    if not found:
        typer.echo("no decisions recorded yet")
    for result in found:
        typer.echo(_describe(result))


def _people(n: int) -> str:
    """How many people, in words.

    >>> _people(1), _people(2)
    ('1 person', '2 people')
    """
    return f"{n} {'person' if n == 1 else 'people'}"


def _describe(r: DecisionResults) -> str:
    lines = [
        f"{r.id}: {r.title}",
        f"  recorded {r.recorded_at:%Y-%m-%d %H:%M} UTC by {r.recorded_by} ({r.source})",
        f"  answers: {', '.join(r.questions) or '-'}",
        f"  said: {r.text.get('en') or next(iter(r.text.values()))}",
        f"  sent to {r.sent}"
        + (
            " (" + ", ".join(f"{k}: {v}" for k, v in r.sent_by_language.items()) + ")"
            if r.sent_by_language
            else ""
        ),
    ]
    lines += [f"  not sent: {n} ({REASONS[k]})" for k, n in r.not_sent.items() if n]
    if r.follow_up:
        replies = ", ".join(f"{k}: {v}" for k, v in r.replies.items()) or "none yet"
        lines.append(f"  does it feel right? {replies}; no reply: {r.no_reply}")
        lines.append(f"  said what would help: {r.comments}")
    return "\n".join(lines)
