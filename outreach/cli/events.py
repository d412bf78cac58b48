"""``outreach events``: Big Conversation events, their numbers and their invitations."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli.common import fail, local, runtime
from outreach.cli.help import Typer
from outreach.contacts.phones import last_digits
from outreach.services.events import Invitee

app = Typer(help="Big Conversation events: list, show, invite.")
NOT_IN_FILES = "no event file here: only the database knows it"


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every event, soonest first, with its RSVPs."""
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
            + ("" if s.in_files else f" [{NOT_IN_FILES}]")
        )


@app.command("show")
def show(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(metavar="EVENT", help="The event id")],
) -> None:
    """An event's numbers: invited, yes/no/maybe, waiting list, access needs, what is next."""
    with runtime(ctx) as rt:
        rt.events.sync()
        s = rt.events.summary(event_id)
    typer.echo(f"{s.title} [{s.id}]" + ("" if s.in_files else f" ({NOT_IN_FILES})"))
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
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="With --dry-run: list who, as a first initial and the number's last three digits",
        ),
    ] = False,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal", help="With --list: show first names and whole numbers (personal data)"
        ),
    ] = False,
) -> None:
    """Invite the event's audience (those not invited yet); the worker sends at its pace."""
    if (list_ or reveal) and not dry_run:
        raise fail("--list shows who would be invited: add --dry-run (nothing is sent)")
    with runtime(ctx) as rt:
        if not dry_run:
            invited = rt.events.invite(event_id)
            typer.echo(f"{invited} people invited; the worker sends the invitations")
            return
        plan = rt.events.plan(event_id)
        who = rt.events.invitees(event_id) if list_ or reveal else []
    languages = ", ".join(f"{lang} {n}" for lang, n in plan.by_language.items()) or "none"
    typer.echo(f"would invite {plan.people} people ({languages})")
    typer.echo(
        f"{plan.segments} SMS segments in all; estimated cost {plan.cost:.2f} {plan.currency}"
        " (first messages of the invitation; replies and reminders cost more)"
    )
    for person in who:
        typer.echo("  " + "  ".join([*_identify(person, reveal=reveal), person.language]))


def _identify(person: Invitee, *, reveal: bool) -> tuple[str, str]:
    """Who someone is, as the list shows them: pseudonymised unless asked otherwise."""
    name, address = person.first_name or "", person.address or ""
    if reveal:
        return name or "-", address or "-"
    return (f"{name[0]}." if name else "-"), last_digits(address)
