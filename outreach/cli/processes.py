"""The running system: ``outreach web``, ``outreach worker``, ``outreach outbox flush`` and
``outreach demo``, which runs all of it in one process with no accounts."""

from __future__ import annotations

import contextlib
import secrets
import shlex
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from outreach.cli.common import log_to_terminal, runtime, settings_of
from outreach.cli.help import Typer
from outreach.clock import FastClock, utcnow
from outreach.services import demo as demo_data
from outreach.services import flows as flow_service
from outreach.services.runtime import settle_for_a_long_run
from outreach.store import migrate
from outreach.store.migrate import open_database
from outreach.web.app import create_app

outbox_app = Typer(help="Messages waiting to be sent.")


def demo(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on")] = 8000,
    database: Annotated[
        Path,
        typer.Option(metavar="FILE", help="The demo's SQLite file, made afresh at each start"),
    ] = Path("outreach-demo.db"),
    fast: Annotated[
        bool, typer.Option("--fast", help="Run the clock 600 times faster: 10 minutes a second")
    ] = False,
) -> None:
    """Run the whole system with no accounts: web, worker and the phone simulator, on SQLite.

    Each start begins afresh, with a new demo database.
    """
    base = settings_of(ctx)
    password = (
        base.admin_password.get_secret_value() if base.admin_password else secrets.token_urlsafe(9)
    )
    log_to_terminal()
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    with (
        demo_data.claim(database, host, port) as claimed,
        demo_data.slack_workspace(f"http://{local}:{port}/slack/events") as slack,
    ):
        settings = base.model_copy(
            update={
                "database_url": claimed.database_url,
                "twilio_account_sid": None,
                "twilio_auth_token": None,
                "admin_password": SecretStr(password),
                **demo_data.slack_settings(slack),
                **demo_data.folders(base),
            }
        )
        flow_service.load_flows(settings)  # a broken flow stops the demo before it wipes
        demo_data.start_afresh(claimed)
        db = open_database(settings.database_url, create=True)
        migrate.upgrade(db)
        with runtime(ctx, settings, clock=FastClock(600) if fast else utcnow, db=db) as rt:
            demo_data.seed(rt)
            look = shlex.quote(settings.database_url)
            typer.secho(
                "\nOutreach demo: everything runs here, on SQLite, with simulated SMS.", bold=True
            )
            typer.echo(
                f"  Open http://{host}:{port}/simulator and log in with the password: {password}"
            )
            typer.echo("  Amina, Bronwen and Marek are invited to a Big Conversation a day away:")
            typer.echo("  pick one and answer as they would. Reminders come the day before and on")
            typer.echo(
                "  the day, a survey after"
                + (" (the clock runs 10 minutes a second)." if fast else "; --fast speeds it up.")
            )
            typer.echo("  Priya is on Slack: her DM, with buttons, is beside the phone.")
            typer.echo("  To look at it with the coordinators' commands, in another terminal:")
            typer.echo(
                f"    OUTREACH_DATABASE_URL={look} outreach events show {demo_data.DEMO_EVENT}"
            )
            typer.echo("  Press Ctrl+C to stop; the next start begins afresh.\n")
            app = create_app(rt, background=rt.worker(), fake_slack=slack)
            settle_for_a_long_run()
            _serve(app, host, port, listener=claimed.listener)


def web(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="PORT", metavar="PORT", help="Port to listen on")
    ] = 8000,
) -> None:
    """Run the web process: Twilio webhooks, health checks and the phone simulator."""
    log_to_terminal()
    with runtime(ctx) as rt:
        application = create_app(rt)
        settle_for_a_long_run()
        _serve(application, host, port)


def worker(ctx: typer.Context) -> None:
    """Run the worker: send the outbox, fire reminders and timeouts."""
    log_to_terminal()
    with runtime(ctx) as rt, contextlib.suppress(KeyboardInterrupt, SystemExit):
        worker = rt.worker()
        settle_for_a_long_run()
        worker.run_forever()


@outbox_app.command("flush")
def outbox_flush(ctx: typer.Context) -> None:
    """Send every queued message that is due, now, and say how it went."""
    with runtime(ctx) as rt:
        typer.echo(str(rt.dispatcher.flush()))


def _serve(
    application: FastAPI, host: str, port: int, *, listener: socket.socket | None = None
) -> None:
    """Serve until Ctrl+C or SIGTERM, on ``listener`` if the caller bound one already.
    Forwarded headers are read by the app itself, from configured proxies only."""
    if listener is None:
        uvicorn.run(application, host=host, port=port, proxy_headers=False, log_level="info")
        return
    config = uvicorn.Config(
        application, host=host, port=port, proxy_headers=False, log_level="info"
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])
    if not server.started:
        raise typer.Exit(3)  # as uvicorn.run does: the reason is in the log above
