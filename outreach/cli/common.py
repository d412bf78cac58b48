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

from outreach.clock import Clock, utcnow
from outreach.errors import FlowLoadError
from outreach.services.runtime import Runtime
from outreach.settings import Settings, load_settings
from outreach.store.database import Database


def settings_of(ctx: typer.Context) -> Settings:
    """The settings (tests hand their own in as the context's object)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = load_settings()
    return root.obj


@contextmanager
def database(ctx: typer.Context) -> Iterator[Database]:
    """The store for one command, closed when it is done."""
    db = Database(settings_of(ctx).database_url)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def runtime(
    ctx: typer.Context, settings: Settings | None = None, *, clock: Clock = utcnow
) -> Iterator[Runtime]:
    """Everything a long-running command needs; a broken flow stops it with the problem."""
    try:
        rt = Runtime.build(settings or settings_of(ctx), clock=clock)
    except FlowLoadError as exc:
        raise fail(str(exc)) from None
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
