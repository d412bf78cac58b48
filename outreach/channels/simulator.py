"""The simulator channel: text messages that go nowhere but the store, for the demo and tests.

It serves the phone simulator's made-up people (scheme ``sim``: rehearsals, at any hour) and,
with no Twilio settings, real numbers too (scheme ``tel``). Messages are "delivered" at once,
and the phone simulator page shows them from the message log, so everything else (the outbox,
consent checks, segments, status history) runs exactly as it does with real SMS.
"""

from __future__ import annotations

import itertools
import secrets

from outreach.channels.base import Outgoing, Rendered, SendResult
from outreach.channels.sms import SmsRenderer
from outreach.content import Content


class SimulatorChannel:
    """Accepts every message for a valid address and reports it delivered."""

    def __init__(
        self,
        *,
        scheme: str = "sim",
        name: str = "simulator",
        renderer: SmsRenderer | None = None,
    ) -> None:
        self.name = name
        self.scheme = scheme
        self.rehearsal = scheme == "sim"  # made-up people; simulated real numbers keep hours
        self.renderer = renderer or SmsRenderer()
        self._ids = itertools.count(1)
        self._prefix = "SIM" + secrets.token_hex(4)

    def render(self, content: Content, language: str) -> Rendered:
        return self.renderer.render(content, language)

    async def send(self, message: Outgoing) -> SendResult:
        return SendResult(
            "sent", provider_id=f"{self._prefix}{next(self._ids):08d}", status="delivered"
        )

    async def close(self) -> None:
        """Nothing is kept open."""

    def explain(self, error_code: str) -> SendResult | None:
        return None  # the simulator reports no errors
