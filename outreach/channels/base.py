"""The channel interface.

A channel sends one message and says, as data, what happened; it never touches the store. The
outbox decides what an outcome means for the message, the contact and the retry schedule, so
every channel is judged by the same rules:

- ``sent``: the provider accepted the message; delivery reports may follow.
- ``retry``: a passing failure (rate limit, provider error, time-out); try again later, no
  sooner than ``retry_after`` seconds if the provider said so.
- ``failed``: it will never go through as it is (invalid or unsubscribed number, refused
  content). ``suppress`` says whether the number itself must not be used again, and why.
- ``unknown``: the request may or may not have reached the provider (the connection dropped
  after sending). Never resent blindly: a person could get the message twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["sent", "retry", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a channel to send."""

    message_id: int  # ours: lets a provider's status report find the message
    to: str  # the address: an E.164 number, or a Slack user id
    body: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send attempt came to."""

    outcome: Outcome
    provider_id: str | None = None
    status: str | None = None  # the provider's word for the state (queued, accepted, ...)
    error_code: str | None = None
    error: str | None = None  # a short explanation, without the number or the body
    retry_after: float | None = None
    suppress: str | None = None  # on "failed": why this number must not be sent to again
    opted_out: bool = False  # on "failed": the carrier says the person replied STOP


class Channel(Protocol):
    """Sends messages of one kind (``name`` is what the outbox stores, e.g. ``sms``)."""

    name: str

    def send(self, message: Outgoing) -> SendResult:
        """Send ``message`` once; never raise for a provider's answer, return it."""
        ...

    def explain(self, error_code: str) -> SendResult | None:
        """What an error code in a later delivery report means (None: nothing to act on)."""
        ...
