"""``outreach digests``: see a partner's digest before it goes, or post one now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from outreach.cli.common import runtime
from outreach.cli.help import Typer
from outreach.partners.digests import Digest
from outreach.services.runtime import Runtime

app = Typer(help="Partners' digests: preview one, or post one now.")
Partner = Annotated[
    str, typer.Argument(metavar="PARTNER", help="The partner's id (flows/partners/*.yaml)")
]
Until = Annotated[
    datetime | None,
    typer.Option(
        metavar="TIME",
        help="End of the period, e.g. 2027-01-18T09:00 (UTC unless a zone is given; default: now)",
    ),
]


def _digest(rt: Runtime, partner: str, until: datetime | None) -> Digest:
    end = until if until is None or until.tzinfo else until.replace(tzinfo=UTC)
    start, end = rt.digests.period(rt.digests.partner(partner), end or rt.clock())
    return rt.digests.build(partner, start, end)


@app.command("preview")
def preview(ctx: typer.Context, partner: Partner, until: Until = None) -> None:
    """Print the digest as text and as the Block Kit JSON that would be posted; nothing is
    posted."""
    with runtime(ctx) as rt:
        typer.echo(_digest(rt, partner, until).preview())


@app.command("send")
def send(ctx: typer.Context, partner: Partner, until: Until = None) -> None:
    """Post the digest to the partner's channel now."""
    with runtime(ctx) as rt:
        posted = rt.digests.send(_digest(rt, partner, until))
    typer.echo(f"posted the digest for {partner} ({posted} message(s))")
