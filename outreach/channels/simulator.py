"""The simulator channel: SMS that go nowhere but the store, for the demo and tests.

With no Twilio settings Outreach runs on this channel. Messages are "delivered" at once, and
the phone simulator page shows them from the message log, so everything else (the outbox,
consent checks, segments, status history) runs exactly as it does with real SMS.
"""

from __future__ import annotations

import itertools
import secrets

from outreach.channels.base import Outgoing, SendResult


class SimulatorChannel:
    """Accepts every message for a valid address and reports it delivered."""

    def __init__(self, name: str = "sms") -> None:
        self.name = name
        self._ids = itertools.count(1)
        self._prefix = "SIM" + secrets.token_hex(4)

    def send(self, message: Outgoing) -> SendResult:
        return SendResult(
            "sent", provider_id=f"{self._prefix}{next(self._ids):08d}", status="delivered"
        )

    def explain(self, error_code: str) -> SendResult | None:
        return None  # the simulator reports no errors
