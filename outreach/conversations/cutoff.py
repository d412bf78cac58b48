"""When a conversation about an event stops, and what a reply that comes later is told.

A Big Conversation takes replies about coming until its ``rsvp_until`` (an offset in the
event file; the start if it has none). A conversation about the event begun before then closes
then; one begun later (a reminder in the last days) closes at the start; one begun at or after
the start (the follow-up survey) is not bound by it. Closing is quiet: nothing more is said,
no timeout branch runs. The engine knows no clock, so the service layer applies this: timers
of such a conversation are not scheduled past its close (a timeout is moved to the close, and
remembers what the flow wanted in case the event moves later), its messages are not worth
sending after it, and a reply that comes after it gets ``late_notice`` instead of the flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from outreach.i18n.catalogs import N_

# The payload of a timeout moved to the close: the timers the flow wanted, by kind.
CLOSES = "closes_for"
END_REASON = "event-closed"

# A late reply is also handed to a person (the service opens a handoff), as these say.
LATE_CLOSED = N_(
    "Thank you for your reply. Replies about the Big Conversation on {date:date} closed on "
    "{closed:datetime}. We have passed your message to our team."
)
LATE_STARTED = N_(
    "Thank you for your reply. The Big Conversation on {date:date} has already started, so "
    "we can no longer take replies about it. We have passed your message to our team."
)
LATE_OVER = N_(
    "Thank you for your reply. The Big Conversation on {date:date} has already taken place, "
    "so we can no longer take replies about it. We have passed your message to our team."
)


def closes_at(event: Mapping[str, Any] | None, started_at: datetime) -> datetime | None:
    """When a conversation about ``event`` (its fields, as the store gives them) that began at
    ``started_at`` closes; None if the event does not bind it.

    >>> from datetime import UTC
    >>> event = {"starts_at": datetime(2026, 3, 20, 18, tzinfo=UTC),
    ...          "rsvp_until": datetime(2026, 3, 18, 18, tzinfo=UTC)}
    >>> closes_at(event, datetime(2026, 3, 1, tzinfo=UTC)).day  # an invitation: rsvp_until
    18
    >>> closes_at(event, datetime(2026, 3, 19, tzinfo=UTC)).day  # a late reminder: the start
    20
    >>> closes_at(event, datetime(2026, 3, 21, tzinfo=UTC)) is None  # the follow-up
    True
    """
    if event is None:
        return None
    starts: datetime | None = event.get("starts_at")
    for boundary in (event.get("rsvp_until") or starts, starts):
        if boundary is not None and started_at < boundary:
            return boundary
    return None


def timers(
    wanted: Mapping[str, datetime], closes: datetime | None
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The due-work rows (kind, due at, payload) for the timers a flow ``wanted`` in a
    conversation that closes at ``closes``: those due by then stay; the rest give way to one
    timeout at the close, which remembers them.

    >>> from datetime import UTC
    >>> close = datetime(2026, 3, 20, 18, tzinfo=UTC)
    >>> early, late = datetime(2026, 3, 19, tzinfo=UTC), datetime(2026, 3, 22, tzinfo=UTC)
    >>> [(kind, at.day) for kind, at, _ in timers({"reminder": early, "timeout": late}, close)]
    [('reminder', 19), ('timeout', 20)]
    >>> [(kind, at.day) for kind, at, _ in timers({"timeout": early}, close)]
    [('timeout', 19)]
    """
    kept: list[tuple[str, datetime, dict[str, Any]]] = [
        (k, at, {}) for k, at in wanted.items() if closes is None or at < closes
    ]
    dropped = {k: at.isoformat() for k, at in wanted.items() if closes is not None and at >= closes}
    if closes is not None and dropped:
        kept.append(("timeout", closes, {CLOSES: dropped}))
    return kept


def remembered(payload: Mapping[str, Any]) -> dict[str, datetime] | None:
    """The timers a timeout at the close stands for (None: it is the flow's own timeout)."""
    wanted = payload.get(CLOSES)
    if not isinstance(wanted, Mapping):
        return None
    return {kind: datetime.fromisoformat(at) for kind, at in wanted.items()}


def late_notice(event: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
    """What to tell someone who replies once the event's replies have closed: the text (an
    English message id) and its values."""
    values = {"date": event["starts_at"], "closed": event.get("rsvp_until")}
    if now >= event["ends_at"]:
        return LATE_OVER, values
    if now >= event["starts_at"]:
        return LATE_STARTED, values
    return LATE_CLOSED, values
