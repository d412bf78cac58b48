"""``outreach db``, ``outreach contacts`` and ``outreach retention``: the store and the people
in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import actor, database, fail, settings_of
from outreach.cli.help import Typer
from outreach.services import contact_import, privacy
from outreach.store import migrate

db_app = Typer(help="The database: migrations.")
contacts_app = Typer(help="Import contacts; export or erase a person.")
retention_app = Typer(help="Purge what is kept no longer.")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or update the database schema (safe to run on every deploy)."""
    with database(ctx, create=True) as db:
        before, after = migrate.upgrade(db)
    if before == after:
        typer.echo(f"database already up to date (revision {after})")
    else:
        typer.echo(f"database upgraded from {before or 'empty'} to revision {after}")


@contacts_app.command("import")
def contacts_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, metavar="FILE", help="A CSV file")
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=FIELD",
            help="Which field a column holds, e.g. Mobile=phone or Ward=fields.ward",
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(metavar="TAG", help="Tag every imported contact")
    ] = None,
    consent_source: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help='How these people agreed to be contacted, e.g. "Sign-up sheet, May 2026" '
            "(required unless the file has a consent_source column)",
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Where to write rejected rows (default: FILE.rejects.csv)"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, change nothing")
    ] = False,
) -> None:
    """Create or update contacts from a CSV file, by phone number."""
    settings = settings_of(ctx)
    mapping = {}
    for item in map_ or []:
        column, sep, target = item.partition("=")
        if not sep or not column or not target:
            raise fail(f"--map takes COLUMN=FIELD, not {item!r}")
        mapping[column] = target
    with database(ctx) as db:
        report = contact_import.import_contacts(
            db,
            file,
            mapping=mapping,
            tags=tag or (),
            consent_source=consent_source,
            dry_run=dry_run,
            region=settings.default_region,
            default_language=settings.default_language,
            default_timezone=settings.default_timezone,
            rejects_path=rejects,
            actor=actor(),
        )
    typer.echo(("dry run: " if dry_run else "") + report.summary())
    if report.nothing_imported:
        raise fail(
            f"nothing {'would be ' if dry_run else ''}imported: all {report.rejected} rows were "
            f"rejected; the reasons are in {report.rejects_path}"
        )


@contacts_app.command("export")
def contacts_export(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="The person's number")],
) -> None:
    """Print everything held on one person as JSON (a subject access request)."""
    with database(ctx) as db:
        data = privacy.export_contact(
            db, phone, region=settings_of(ctx).default_region, actor=actor()
        )
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@contacts_app.command("erase")
def contacts_erase(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(metavar="PHONE", help="The person's number")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase a person's personal data and message bodies, keeping anonymous counts."""
    region = settings_of(ctx).default_region
    with database(ctx) as db:
        if not yes:
            # Say whom: the first name on record and the number as it was typed.
            name = privacy.first_name(db, phone, region=region) or "this person"
            question = f"Erase everything held on {name} ({phone.strip()}) for good?"
            if not typer.confirm(question + " It cannot be undone.", default=False):
                raise fail("nothing erased")
        contact_id = privacy.erase_contact(db, phone, region=region, actor=actor())
    typer.echo(f"erased contact #{contact_id}; the erasure is recorded in the audit log")


@retention_app.command("run")
def retention_run(ctx: typer.Context) -> None:
    """Purge message bodies older than OUTREACH_RETENTION_DAYS (counts and answers stay)."""
    settings = settings_of(ctx)
    with database(ctx) as db:
        purged = privacy.purge_message_bodies(
            db, older_than_days=settings.retention_days, actor=actor()
        )
    typer.echo(f"purged {purged} message bodies older than {settings.retention_days} days")
