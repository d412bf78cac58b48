"""The running system: ``outreach web``, ``outreach worker``, ``outreach outbox flush`` and
``outreach demo``, which runs all of it in one process with no accounts."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from outreach.cli.common import log_to_terminal, runtime, settings_of
from outreach.cli.help import Typer
from outreach.clock import FastClock, utcnow
from outreach.scheduling.worker import Worker
from outreach.services import demo as demo_data
from outreach.store import migrate
from outreach.web.app import create_app

outbox_app = Typer(help="Messages waiting to be sent.")


def demo(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on")] = 8000,
    database: Annotated[Path, typer.Option(metavar="FILE", help="The demo's SQLite file")] = Path(
        "outreach-demo.db"
    ),
    fast: Annotated[
        bool, typer.Option("--fast", help="Run the clock 600 times faster: 10 minutes a second")
    ] = False,
) -> None:
    """Run the whole system with no accounts: web, worker and the phone simulator, on SQLite."""
    base = settings_of(ctx)
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
    log_to_terminal()
    with runtime(ctx, settings, clock=FastClock(600) if fast else utcnow) as rt:
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
        typer.echo("  Press Ctrl+C to stop.\n")
        _serve(create_app(rt, background=Worker(rt)), host, port)


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
        _serve(create_app(rt), host, port)


def worker(ctx: typer.Context) -> None:
    """Run the worker: send the outbox, fire reminders and timeouts."""
    log_to_terminal()
    with runtime(ctx) as rt, contextlib.suppress(KeyboardInterrupt, SystemExit):
        Worker(rt).run_forever()


@outbox_app.command("flush")
def outbox_flush(ctx: typer.Context) -> None:
    """Send every queued message that is due, now, and say how it went."""
    with runtime(ctx) as rt:
        typer.echo(str(rt.dispatcher.flush()))


def _serve(application: FastAPI, host: str, port: int) -> None:
    uvicorn.run(application, host=host, port=port, proxy_headers=True, log_level="info")
