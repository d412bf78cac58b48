"""``outreach events``: Big Conversation events, their numbers and their invitations."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli.common import fail, local, runtime
from outreach.cli.help import Typer
from outreach.errors import EventNotFound

app = Typer(help="Big Conversation events: list, show, invite.")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every event in the flows folder, soonest first, with its RSVPs."""
    with runtime(ctx) as rt:
        rt.events.sync()
        summaries = rt.events.summaries()
    if not summaries:
        typer.echo(f"no events in {rt.settings.flows_dir} (an event file starts with `event:`)")
    for s in summaries:
        places = (
            f"{s.rsvps.get('yes', 0)}/{s.capacity}" if s.capacity else str(s.rsvps.get("yes", 0))
        )
        typer.echo(
            f"{s.id}  {local(s.starts_at, s.timezone)}  {s.title}  "
            f"(invited {s.invited}, coming {places}, waiting {s.rsvps.get('waitlist', 0)})"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(metavar="EVENT", help="The event id")],
) -> None:
    """An event's numbers: invited, yes/no/maybe, waiting list, access needs, what is next."""
    with runtime(ctx) as rt:
        rt.events.sync()
        try:
            s = rt.events.summary(event_id)
        except EventNotFound as exc:
            raise fail(str(exc)) from None
    typer.echo(f"{s.title} [{s.id}]")
    typer.echo(f"  when:      {local(s.starts_at, s.timezone)} to {local(s.ends_at, s.timezone)}")
    typer.echo(f"  where:     {s.venue}")
    typer.echo(f"  capacity:  {s.capacity or 'no limit'}")
    typer.echo(f"  invited:   {s.invited}")
    for status in ("yes", "maybe", "no", "waitlist", "offered", "invited"):
        label = "no reply" if status == "invited" else status
        typer.echo(f"  {label + ':':<10} {s.rsvps.get(status, 0)}")
    typer.echo(f"  access needs told us: {s.access_needs}")
    for at, what in s.upcoming:
        typer.echo(f"  next: {what} at {local(at, s.timezone)}")


@app.command("invite")
def invite(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(metavar="EVENT", help="The event id")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say who would be invited and the cost; send nothing")
    ] = False,
) -> None:
    """Invite the event's audience (those not invited yet); the worker sends at its pace."""
    with runtime(ctx) as rt:
        try:
            if dry_run:
                plan = rt.events.plan(event_id)
            else:
                invited = rt.events.invite(event_id)
        except EventNotFound as exc:
            raise fail(str(exc)) from None
    if not dry_run:
        typer.echo(f"{invited} people invited; the worker sends the invitations")
        return
    languages = ", ".join(f"{lang} {n}" for lang, n in plan.by_language.items()) or "none"
    typer.echo(f"would invite {plan.people} people ({languages})")
    typer.echo(
        f"{plan.segments} SMS segments in all; estimated cost {plan.cost:.2f} {plan.currency}"
        " (first messages of the invitation; replies and reminders cost more)"
    )
