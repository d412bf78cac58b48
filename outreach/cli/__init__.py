"""The ``outreach`` command, one module per group of sub-commands. Each command turns its
options into a service call and prints what happened."""

from __future__ import annotations

from outreach.cli import (
    contacts,
    decisions,
    digests,
    events,
    flows,
    handoffs,
    i18n,
    processes,
    report,
    slack,
    statements,
)
from outreach.cli.help import Typer

app = Typer(help="Outreach: co-produce services by SMS and Slack.")
app.command()(processes.demo)
app.command()(processes.web)
app.command()(processes.worker)
app.add_typer(flows.app, name="flows")
app.add_typer(contacts.db_app, name="db")
app.add_typer(contacts.contacts_app, name="contacts")
app.add_typer(contacts.retention_app, name="retention")
app.add_typer(processes.outbox_app, name="outbox")
app.add_typer(i18n.app, name="i18n")
app.add_typer(events.app, name="events")
app.add_typer(slack.app, name="slack")
app.add_typer(handoffs.app, name="handoffs")
app.add_typer(digests.app, name="digests")
app.add_typer(decisions.app, name="decisions")
app.add_typer(statements.app, name="statements")
app.command()(report.report)


def main() -> None:
    app(prog_name="outreach")
