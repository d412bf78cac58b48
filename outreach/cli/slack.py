"""``outreach slack``: the Slack app for local development."""

from __future__ import annotations

import contextlib

import typer

from outreach.cli.common import fail, log_to_terminal, runtime, settings_of
from outreach.cli.help import Typer
from outreach.web import slack as slack_web

app = Typer(help="The Slack app.")


@app.command("socket")
def socket(ctx: typer.Context) -> None:
    """Run the Slack app over Socket Mode, for local development (no public URL needed)."""
    settings = settings_of(ctx)
    if not settings.slack_enabled or settings.slack_app_token is None:
        raise fail(
            "Socket Mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN "
            "(an xapp- token with connections:write): see the README's Slack section"
        )
    log_to_terminal()
    with runtime(ctx) as rt, contextlib.suppress(KeyboardInterrupt):
        slack_web.socket_mode(rt, settings.slack_app_token.get_secret_value())
