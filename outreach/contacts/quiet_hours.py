"""Quiet hours: nobody is texted at night by something we started.

Messages Outreach starts (invitations, reminders, timeouts, surveys) wait until the allowed
window opens in the person's own time zone; answers to a message the person has just sent go
at once, and so does anything marked urgent (a same-day cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Messages may go from ``start`` until ``end``, local time (default 09:00 to 20:00)."""

    start: time = time(9, 0)
    end: time = time(20, 0)

    def next_allowed(self, moment: datetime, timezone: str) -> datetime:
        """``moment`` if it is inside the window there, else when the window next opens.

        >>> from datetime import UTC
        >>> hours = QuietHours()
        >>> hours.next_allowed(datetime(2026, 1, 10, 23, 0, tzinfo=UTC), "Europe/London")
        datetime.datetime(2026, 1, 11, 9, 0, tzinfo=datetime.timezone.utc)
        >>> hours.next_allowed(datetime(2026, 7, 10, 23, 0, tzinfo=UTC), "Europe/London")
        datetime.datetime(2026, 7, 11, 8, 0, tzinfo=datetime.timezone.utc)
        """
        return _next_allowed(self.start, self.end, moment, moment.tzinfo, timezone)


@lru_cache(maxsize=4096)
def _next_allowed(
    start: time, end: time, moment: datetime, given: tzinfo | None, timezone: str
) -> datetime:
    # Remembered: a batch of starts asks this for one moment and a handful of time zones.
    # ``given`` is in the key because equal moments in other zones would share an entry.
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    if start <= local.time() < end:
        return moment
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opens = datetime.combine(day, start, tzinfo=zone)
    return opens.astimezone(moment.tzinfo)
