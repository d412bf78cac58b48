"""``outreach statements``: moderate the statements people send, seed your own, and read the
common ground and divisions between groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import actor, database
from outreach.cli.help import Typer
from outreach.services.statements import DEFAULT_GROUPS, CommonGround, Statements
from outreach.store.opinions import StatementRow, Status

app = Typer(help="Statements people vote on: list, approve, reject, add, seed, results.")
StatementIds = Annotated[
    list[int], typer.Argument(metavar="ID...", help="The statements' numbers (see list)")
]
Conversation = Annotated[
    str, typer.Argument(metavar="CONVERSATION", help="The event id (or the flow step's name)")
]
Groups = Annotated[
    str,
    typer.Option(
        "--groups",
        metavar="FIELD",
        help="Group people by a contact field (role, age_band...) or tags:patient,carer,...",
    ),
]


def _line(row: StatementRow) -> str:
    who = "a person" if row.written_by_a_person else "coordinator"
    text = row.text or "(erased)"
    return (
        f"#{row.id}  {row.status:<8}  {row.conversation}  {row.language}  {who}  "
        f"{row.votes} vote(s)  {text}"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    conversation: Annotated[
        str | None, typer.Option("--conversation", metavar="ID", help="Only this one")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", metavar="STATUS", help="pending, approved or rejected"),
    ] = None,
) -> None:
    """Statements, oldest first (--status pending: those waiting for moderation)."""
    with database(ctx) as db:
        rows = Statements(db).listing(conversation=conversation, status=status)
    if not rows:
        typer.echo("no statements")
    for row in rows:
        typer.echo(_line(row))


@app.command("approve")
def approve(ctx: typer.Context, statements: StatementIds) -> None:
    """Approve statements: from now on they are offered to people to vote on."""
    _moderate(ctx, statements, "approved")


@app.command("reject")
def reject(ctx: typer.Context, statements: StatementIds) -> None:
    """Reject statements: nobody is asked about them (they stay in the record)."""
    _moderate(ctx, statements, "rejected")


def _moderate(ctx: typer.Context, statements: list[int], status: Status) -> None:
    with database(ctx) as db:
        for statement in statements:
            Statements(db).moderate(statement, status, by=actor())
            typer.echo(f"statement #{statement} {status}")


@app.command("add")
def add(
    ctx: typer.Context,
    conversation: Conversation,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The statement, in one sentence")],
    language: Annotated[
        str, typer.Option("--language", metavar="LANG", help="Its language (default en)")
    ] = "en",
) -> None:
    """Add a coordinator's statement (approved at once)."""
    with database(ctx) as db:
        statement = Statements(db).add(conversation, text, language=language, by=actor())
    typer.echo(f"statement #{statement} added to {conversation}")


@app.command("seed")
def seed(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", help="Statements files, or folders of them")
    ],
) -> None:
    """Add the statements of YAML files (adding the same file again adds nothing)."""
    with database(ctx) as db:
        ids = Statements(db).seed(paths, by=actor())
    typer.echo(f"{len(ids)} statement(s) in place")


@app.command("results")
def results(
    ctx: typer.Context, conversation: Conversation, groups: Groups = DEFAULT_GROUPS
) -> None:
    """Common ground and divisions between groups (counts under 5 shown as "<5")."""
    with database(ctx) as db:
        found = Statements(db).common_ground(conversation, groups=groups)
    typer.echo(describe(found))


def describe(found: CommonGround) -> str:
    """The findings as plain text."""
    lines = [f"{found.conversation}: grouped by {found.grouped_by} ({', '.join(found.groups)})"]
    lines.append("Common ground (every group, significantly):")
    lines += [f"  #{s.id} {s.direction}s: {s.text}" for s in found.consensus] or ["  none"]
    lines.append("Divisive (one group agrees, another disagrees):")
    lines += [f"  #{s.id}: {s.text}" for s in found.divisive] or ["  none"]
    for group, items in found.distinctive.items():
        lines.append(f"What {group} say more than others:")
        lines += [f"  #{s.id} {s.direction}: {s.text}" for s in items]
    return "\n".join(lines)
