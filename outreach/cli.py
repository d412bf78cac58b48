"""The ``outreach`` command. Each command turns its options into a service call and prints."""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from outreach.clock import Clock, FastClock, utcnow
from outreach.conversations.simulation import Simulation
from outreach.errors import (
    ContactNotFound,
    EventClosed,
    EventNotFound,
    FlowLoadError,
    FlowNotFound,
    ImportFileError,
    InvalidPhoneNumber,
)
from outreach.flows.diagram import mermaid
from outreach.services import contact_import, privacy
from outreach.services import demo as demo_data
from outreach.services import flows as flow_service
from outreach.services.privacy import purge_message_bodies
from outreach.services.runtime import Runtime
from outreach.settings import Settings, load_settings
from outreach.store import migrate
from outreach.store.database import Database
from outreach.translations import report as check_report
from outreach.translations import workflow as translations
from outreach.web import slack as slack_web
from outreach.web.app import create_app

app = typer.Typer(no_args_is_help=True, help="Outreach: co-produce services by SMS and Slack.")
flows_app = typer.Typer(no_args_is_help=True, help="Check, try and draw conversation flows.")
db_app = typer.Typer(no_args_is_help=True, help="The database: migrations.")
contacts_app = typer.Typer(no_args_is_help=True, help="Import contacts; export or erase a person.")
retention_app = typer.Typer(no_args_is_help=True, help="Purge what is kept no longer.")
outbox_app = typer.Typer(no_args_is_help=True, help="Messages waiting to be sent.")
i18n_app = typer.Typer(no_args_is_help=True, help="Translations: extract, update, compile, check.")
events_app = typer.Typer(no_args_is_help=True, help="Big Conversation events: list, show, invite.")
slack_app = typer.Typer(no_args_is_help=True, help="The Slack app.")
app.add_typer(flows_app, name="flows")
app.add_typer(db_app, name="db")
app.add_typer(contacts_app, name="contacts")
app.add_typer(retention_app, name="retention")
app.add_typer(outbox_app, name="outbox")
app.add_typer(i18n_app, name="i18n")
app.add_typer(events_app, name="events")
app.add_typer(slack_app, name="slack")


def _settings(ctx: typer.Context) -> Settings:
    if not isinstance(ctx.obj, Settings):
        ctx.obj = load_settings()
    return ctx.obj


@contextmanager
def _database(ctx: typer.Context) -> Iterator[Database]:
    """The store for one command, closed when it is done."""
    db = Database(_settings(ctx).database_url)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def _runtime(
    ctx: typer.Context, settings: Settings | None = None, *, clock: Clock = utcnow
) -> Iterator[Runtime]:
    """Everything a long-running command needs; a broken flow stops it with the problem."""
    try:
        rt = Runtime.build(settings or _settings(ctx), clock=clock)
    except FlowLoadError as exc:
        raise _fail(str(exc)) from None
    try:
        yield rt
    finally:
        rt.close()


def _actor() -> str:
    """Who is running the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    checked = f"{len(report.flows)} flow(s)" + (
        f" and {report.events} event(s)" if report.events else ""
    )
    summary = f"{checked} checked: {errors} error(s), {warnings} warning(s)"
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


# -- database and contacts ------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or update the database schema (safe to run on every deploy)."""
    with _database(ctx) as db:
        before, after = migrate.upgrade(db)
    if before == after:
        typer.echo(f"database already up to date (revision {after})")
    else:
        typer.echo(f"database upgraded from {before or 'empty'} to revision {after}")


@contacts_app.command("import")
def contacts_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV file")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD, e.g. Mobile=phone or Ward=fields.ward"),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag every imported contact")] = None,
    consent_source: Annotated[
        str | None,
        typer.Option(
            help="How these people agreed to be contacted (required unless the file "
            "has a consent_source column)"
        ),
    ] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows")] = None,
    dry_run: Annotated[bool, typer.Option(help="Check and count, change nothing")] = False,
) -> None:
    """Create or update contacts from a CSV file, by phone number."""
    settings = _settings(ctx)
    mapping = {}
    for item in map_ or []:
        column, sep, target = item.partition("=")
        if not sep or not column or not target:
            raise _fail(f"--map takes COLUMN=FIELD, not {item!r}")
        mapping[column] = target
    with _database(ctx) as db:
        try:
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
                actor=_actor(),
            )
        except ImportFileError as exc:
            raise _fail(str(exc)) from None
    typer.echo(("dry run: " if dry_run else "") + report.summary())


@contacts_app.command("export")
def contacts_export(
    ctx: typer.Context, phone: Annotated[str, typer.Argument(help="The person's number")]
) -> None:
    """Print everything held on one person as JSON (a subject access request)."""
    with _database(ctx) as db:
        try:
            data = privacy.export_contact(
                db, phone, region=_settings(ctx).default_region, actor=_actor()
            )
        except (ContactNotFound, InvalidPhoneNumber) as exc:
            raise _fail(str(exc)) from None
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@contacts_app.command("erase")
def contacts_erase(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="The person's number")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase a person's personal data and message bodies, keeping anonymous counts."""
    if not yes:
        typer.confirm("Erase this person's data for good?", abort=True)
    with _database(ctx) as db:
        try:
            contact_id = privacy.erase_contact(
                db, phone, region=_settings(ctx).default_region, actor=_actor()
            )
        except (ContactNotFound, InvalidPhoneNumber) as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"erased contact #{contact_id}; the erasure is recorded in the audit log")


@retention_app.command("run")
def retention_run(ctx: typer.Context) -> None:
    """Purge message bodies older than OUTREACH_RETENTION_DAYS (counts and answers stay)."""
    settings = _settings(ctx)
    with _database(ctx) as db:
        purged = purge_message_bodies(db, older_than_days=settings.retention_days, actor=_actor())
    typer.echo(f"purged {purged} message bodies older than {settings.retention_days} days")


# -- translations -----------------------------------------------------------------------------

SEGMENTS_START, SEGMENTS_END = "<!-- segments:start -->", "<!-- segments:end -->"


def _translation_paths(ctx: typer.Context) -> translations.Paths:
    return translations.Paths.from_settings(_settings(ctx))


@i18n_app.command("extract")
def i18n_extract(ctx: typer.Context) -> None:
    """Write locales/messages.pot from the flows and the code (as pybabel extract does)."""
    typer.echo(f"wrote {translations.extract(_translation_paths(ctx))}")


@i18n_app.command("update")
def i18n_update(ctx: typer.Context) -> None:
    """Add new texts from the template to every language's catalog."""
    translations.update(_translation_paths(ctx))
    typer.echo("catalogs updated: translators can now fill in the new, empty entries")


@i18n_app.command("compile")
def i18n_compile(ctx: typer.Context) -> None:
    """Build .mo files (optional: Outreach reads .po files directly)."""
    translations.compile_catalogs(_translation_paths(ctx))


@i18n_app.command("check")
def i18n_check(
    ctx: typer.Context,
    update_docs: Annotated[
        Path | None, typer.Option(help="Rewrite the segment table in this Markdown file")
    ] = None,
) -> None:
    """How complete each language is; errors (exit 1) for broken or too long translations."""
    settings = _settings(ctx)
    try:
        flows = flow_service.load_flows(settings)
    except FlowLoadError as exc:
        raise _fail(str(exc)) from None
    paths = _translation_paths(ctx)
    reports = translations.check(paths, flows, max_segments=settings.max_segments_translated)
    errors = [e for r in reports for e in r.errors]
    for report in reports:
        typer.echo(check_report.summary(report))
    if update_docs is not None:
        table = check_report.segment_table(reports, flows)
        text = update_docs.read_text(encoding="utf-8")
        before, _, rest = text.partition(SEGMENTS_START)
        _, found, after = rest.partition(SEGMENTS_END)
        if not found:
            raise _fail(f"{update_docs} has no {SEGMENTS_START} ... {SEGMENTS_END} section")
        update_docs.write_text(
            f"{before}{SEGMENTS_START}\n{table}\n{SEGMENTS_END}{after}", encoding="utf-8"
        )
    for error in errors:
        typer.secho(error, err=True, fg=typer.colors.RED)
    if errors:
        raise _fail(f"{len(errors)} translation error(s)")
    typer.echo(f"all {len(reports)} language(s) pass")


# -- the whole system ------------------------------------------------------------------------


@app.command()
def demo(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    database: Annotated[Path, typer.Option(help="The demo's SQLite file")] = Path(
        "outreach-demo.db"
    ),
    fast: Annotated[
        bool, typer.Option("--fast", help="Run the clock 600 times faster: 10 minutes a second")
    ] = False,
) -> None:
    """Run the whole system with no accounts: web, worker and the phone simulator, on SQLite."""
    base = _settings(ctx)
    password = (
        base.admin_password.get_secret_value() if base.admin_password else secrets.token_urlsafe(9)
    )
    settings = base.model_copy(
        update={
            "database_url": f"sqlite:///{database}",
            "twilio_account_sid": None,
            "twilio_auth_token": None,
            "admin_password": SecretStr(password),
        }
    )
    _logging()
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    with (
        demo_data.slack_workspace(f"http://{local}:{port}/slack/events") as slack,
        _runtime(
            ctx,
            settings.model_copy(update=demo_data.slack_settings(slack)),
            clock=FastClock(600) if fast else utcnow,
        ) as rt,
    ):
        migrate.upgrade(rt.db)
        demo_data.seed(rt)
        url = f"http://{host}:{port}/simulator"
        typer.secho(
            "\nOutreach demo: everything runs here, on SQLite, with simulated SMS.", bold=True
        )
        typer.echo(f"  Open {url} and log in with the password: {password}")
        typer.echo("  Amina, Bronwen and Marek are invited to a Big Conversation a day away:")
        typer.echo("  pick one and answer as they would. Reminders come the day before and on")
        typer.echo(
            "  the day, a survey after"
            + (" (the clock runs 10 minutes a second)." if fast else "; --fast speeds it up.")
        )
        typer.echo("  Priya is on Slack: her DM, with buttons, is beside the phone.")
        typer.echo("  Press Ctrl+C to stop.\n")
        _serve(create_app(rt, background=rt.worker(), fake_slack=slack), host, port)


@app.command()
def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on")] = 8000,
) -> None:
    """Run the web process: Twilio webhooks, health checks and the phone simulator."""
    _logging()
    with _runtime(ctx) as rt:
        _serve(create_app(rt), host, port)


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run the worker: send the outbox, fire reminders and timeouts."""
    _logging()
    with _runtime(ctx) as rt, contextlib.suppress(KeyboardInterrupt, SystemExit):
        rt.worker().run_forever()


@slack_app.command("socket")
def slack_socket(ctx: typer.Context) -> None:
    """Run the Slack app over Socket Mode, for local development (no public URL needed)."""
    settings = _settings(ctx)
    if not settings.slack_enabled or settings.slack_app_token is None:
        raise _fail(
            "Socket Mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN "
            "(an xapp- token with connections:write): see the README's Slack section"
        )
    _logging()
    with _runtime(ctx) as rt, contextlib.suppress(KeyboardInterrupt):
        slack_web.socket_mode(rt, settings.slack_app_token.get_secret_value())


@events_app.command("list")
def events_list(ctx: typer.Context) -> None:
    """Every event in the flows folder, soonest first, with its RSVPs."""
    with _runtime(ctx) as rt:
        rt.events.sync()
        summaries = rt.events.summaries()
    if not summaries:
        typer.echo(f"no events in {rt.settings.flows_dir} (an event file starts with `event:`)")
    for s in summaries:
        places = (
            f"{s.rsvps.get('yes', 0)}/{s.capacity}" if s.capacity else str(s.rsvps.get("yes", 0))
        )
        typer.echo(
            f"{s.id}  {_local(s.starts_at, s.timezone)}  {s.title}  "
            f"(invited {s.invited}, coming {places}, waiting {s.rsvps.get('waitlist', 0)})"
        )


@events_app.command("show")
def events_show(
    ctx: typer.Context, event_id: Annotated[str, typer.Argument(help="The event id")]
) -> None:
    """An event's numbers: invited, yes/no/maybe, waiting list, access needs, what is next."""
    with _runtime(ctx) as rt:
        rt.events.sync()
        try:
            s = rt.events.summary(event_id)
        except EventNotFound as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"{s.title} [{s.id}]")
    typer.echo(f"  when:      {_local(s.starts_at, s.timezone)} to {_local(s.ends_at, s.timezone)}")
    typer.echo(f"  where:     {s.venue}")
    typer.echo(f"  capacity:  {s.capacity or 'no limit'}")
    typer.echo(f"  invited:   {s.invited}")
    for status in ("yes", "maybe", "no", "waitlist", "offered", "invited"):
        label = "no reply" if status == "invited" else status
        typer.echo(f"  {label + ':':<10} {s.rsvps.get(status, 0)}")
    typer.echo(f"  access needs told us: {s.access_needs}")
    for at, what in s.upcoming:
        typer.echo(f"  next: {what} at {_local(at, s.timezone)}")


@events_app.command("invite")
def events_invite(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="The event id")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say who would be invited and the cost; send nothing")
    ] = False,
) -> None:
    """Invite the event's audience (those not invited yet); the worker sends at its pace."""
    with _runtime(ctx) as rt:
        try:
            if dry_run:
                plan = rt.events.plan(event_id)
            else:
                invited = rt.events.invite(event_id)
        except (EventNotFound, EventClosed) as exc:
            raise _fail(str(exc)) from None
    if not dry_run:
        typer.echo(f"{invited} people invited; the worker sends the invitations")
        return
    languages = ", ".join(f"{lang} {n}" for lang, n in plan.by_language.items()) or "none"
    typer.echo(f"would invite {plan.people} people ({languages})")
    typer.echo(
        f"{plan.segments} SMS segments in all; estimated cost {plan.cost:.2f} {plan.currency}"
        " (first messages of the invitation; replies and reminders cost more)"
    )


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M")


@outbox_app.command("flush")
def outbox_flush(ctx: typer.Context) -> None:
    """Send every queued message that is due, now, and say how it went."""
    with _runtime(ctx) as rt:
        typer.echo(str(rt.dispatcher.flush()))


def _serve(application: FastAPI, host: str, port: int) -> None:
    # Forwarded headers are read by the app, from configured proxies only.
    uvicorn.run(application, host=host, port=port, proxy_headers=False, log_level="info")


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


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


if __name__ == "__main__":
    main()
