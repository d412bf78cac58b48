"""What every command shares: the settings, the store or the whole runtime opened for one
command, and the one way to stop with a message."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from outreach.clock import Clock, utcnow
from outreach.errors import SettingsError
from outreach.services.runtime import Runtime
from outreach.settings import Settings, load_settings
from outreach.store.database import Database
from outreach.store.migrate import open_database


def settings_of(ctx: typer.Context) -> Settings:
    """The settings (tests hand their own in as the context's object)."""
    root = ctx.find_root()
    settings = root.obj
    if not isinstance(settings, Settings):
        try:
            settings = root.obj = load_settings()
        except ValidationError as exc:
            # Name the variable, never its value: it may be a secret.
            problems = "; ".join(
                f"OUTREACH_{str(error['loc'][0]).upper()}: {error['msg']}" for error in exc.errors()
            )
            raise SettingsError(problems) from None
    return settings


@contextmanager
def database(ctx: typer.Context, *, create: bool = False) -> Iterator[Database]:
    """The store for one command, checked (reachable, schema up to date) and closed when it
    is done; ``create`` lets ``db upgrade`` make it."""
    db = open_database(settings_of(ctx).database_url, create=create)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def runtime(
    ctx: typer.Context,
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
    db: Database | None = None,
) -> Iterator[Runtime]:
    """Everything a long-running command needs, over a checked database."""
    settings = settings or settings_of(ctx)
    db = db or open_database(settings.database_url)
    try:
        rt = Runtime.build(settings, clock=clock, db=db)
    except BaseException:
        db.close()
        raise
    try:
        yield rt
    finally:
        rt.close()


def actor() -> str:
    """Who is running the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def fail(message: str) -> typer.Exit:
    """Say what is wrong (and what to do) on standard error; the caller raises the result."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def local(at: datetime, zone: str) -> str:
    """A time as the coordinator reads it, in the event's own time zone."""
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M")


def log_to_terminal() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
