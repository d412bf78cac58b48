"""``outreach handoffs``: conversations waiting for a person, for teams without Slack."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli.common import actor, local, runtime
from outreach.cli.help import Typer
from outreach.services.handoffs import HandoffDesk, HandoffView

app = Typer(help="Conversations handed to a person: list, show, reply, resolve.")
HandoffId = Annotated[int, typer.Argument(metavar="ID", help="The handoff's number (see list)")]


def _line(view: HandoffView, zone: str) -> str:
    where = f"{view.flow}/{view.step}" if view.flow else "-"
    state = "answered" if view.answered else view.status
    opened = local(view.opened_at, zone)
    return f"#{view.id}  {opened}  {state:<8}  {view.who}  {view.reason}  {where}"


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too")] = False,
) -> None:
    """The handoffs waiting for someone (newest first)."""
    with runtime(ctx) as rt:
        views = HandoffDesk(rt.db, rt.team, rt.threads).list(everything=all_)
        zone = rt.settings.default_timezone
    if not views:
        typer.echo("no handoffs waiting" if not all_ else "no handoffs")
    for view in views:
        typer.echo(_line(view, zone))


@app.command("show")
def show(ctx: typer.Context, handoff: HandoffId) -> None:
    """One handoff: who, why, where in the conversation, and the recent messages."""
    with runtime(ctx) as rt:
        view = HandoffDesk(rt.db, rt.team, rt.threads).show(handoff)
        zone = rt.settings.default_timezone
    typer.echo(_line(view, zone))
    typer.echo(f"  {view.why}")
    if view.in_slack:
        typer.echo(f"  in Slack ({view.partner or 'the default handoff channel'})")
    for line in view.conversation:
        who = "them" if line.direction == "in" else "us  "
        typer.echo(f"  {local(line.at, zone)}  {who}  {line.body}")


@app.command("reply")
def reply(
    ctx: typer.Context,
    handoff: HandoffId,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What the person should read")],
) -> None:
    """Text the person (sent by the worker through their channel, recorded)."""
    with runtime(ctx) as rt:
        queued = HandoffDesk(rt.db, rt.team, rt.threads).reply(handoff, text, by=actor())
    if queued.status != "queued":
        typer.echo(f"handoff #{handoff}: not sent (the person cannot be messaged)")
    else:
        typer.echo(f"handoff #{handoff}: reply queued (message {queued.message_id})")


@app.command("resolve")
def resolve(ctx: typer.Context, handoff: HandoffId) -> None:
    """Close the handoff; a conversation still waiting asks its question again."""
    with runtime(ctx) as rt:
        resolved = HandoffDesk(rt.db, rt.team, rt.threads).resolve(handoff, by=actor())
    again = "; the conversation goes on" if resolved.asked_again else ""
    typer.echo(f"handoff #{handoff} resolved{again}")
