"""Time is injected: anything that waits or stamps takes a clock, so tests move it instead of
sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock: now, in UTC, time-zone aware."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: for tests, rehearsals and the demo's fast mode."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("give the clock an aware start time")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


class FastClock:
    """A clock running ``factor`` times faster than the real one, from now: the demo's
    ``--fast`` mode, so a week of invitations and reminders plays out in minutes."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._origin = utcnow()
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        elapsed = time.monotonic() - self._started
        return self._origin + timedelta(seconds=elapsed * self.factor)
