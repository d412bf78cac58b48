"""A token bucket: at most ``rate`` sends a second, in bursts of at most ``burst``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Blocks the caller until a send is allowed. Thread-safe.

    >>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
    >>> waits = []
    >>> bucket = TokenBucket(2.0, burst=1, clock=clock, sleep=waits.append)
    >>> bucket.acquire(); bucket.acquire(); waits
    [0.5]
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be above zero")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self._sleep(wait)
                self._last = now + wait
                self._tokens = 0.0
            else:
                self._tokens -= 1
