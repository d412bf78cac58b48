"""The channel interface: what every way of reaching people (SMS, Slack, later WhatsApp and
voice) provides, and the neutral values that cross it.

A channel serves one address ``scheme`` (``tel``, ``sim``, ``slack``): which channel sends a
message follows from the address it goes to. It renders channel-neutral ``Content`` for its
own limits, sends one message and says, as data, what happened; it never touches the store.
The dispatcher decides what an outcome means for the message, the contact and the retry
schedule, so every channel is judged by the same rules:

- ``sent``: the provider accepted the message; delivery reports may follow.
- ``retry``: a passing failure (rate limit, provider error, time-out); try again later, no
  sooner than ``retry_after`` seconds if the provider said so.
- ``failed``: it will never go through as it is (invalid or unsubscribed address, refused
  content). ``suppress`` says whether the address itself must not be used again, and why.
- ``unknown``: the request may or may not have reached the provider (the connection dropped
  after sending). Never resent blindly: a person could get the message twice.

Channels that receive over HTTP also read the provider's requests (``read_message``,
``read_status``), checking their signatures, so the web layer only hands bytes over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from outreach.content import Content

SendOutcome = Literal["sent", "retry", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """Content as one channel shows it: the plain text every channel has (the record, screen
    readers, notifications), what it costs where the provider bills by segment, and anything
    richer the channel sends alongside (Slack blocks)."""

    text: str
    segments: int | None = None
    encoding: str | None = None
    extra: Mapping[str, Any] | None = None

    def describe(self) -> str:
        """How long the message is, as a coordinator reads it ("2 segments (GSM-7)")."""
        if self.segments is None:
            return f"{len(self.text)} characters"
        plural = "" if self.segments == 1 else "s"
        return f"{self.segments} segment{plural} ({self.encoding})"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a channel to send."""

    message_id: int  # ours: lets a provider's status report find the message
    to: str  # the address, in the channel's scheme: an E.164 number, a Slack user id
    body: str  # the rendered text, as recorded
    content: Content
    language: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send attempt came to."""

    outcome: SendOutcome
    provider_id: str | None = None
    status: str | None = None  # the provider's word for the state (queued, accepted, ...)
    error_code: str | None = None
    error: str | None = None  # a short explanation, without the address or the body
    retry_after: float | None = None
    suppress: str | None = None  # on "failed": why this address must not be sent to again
    opted_out: bool = False  # on "failed": the carrier says the person replied STOP


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from a person, as any channel hands it over."""

    scheme: str  # the address scheme it came from: tel, sim, slack
    sender: str  # the address: an E.164 number, a Slack user id
    text: str
    provider_id: str  # the channel's own id for the message, for de-duplication
    button: str | None = None  # the option key of a pressed button (Slack)
    in_reply_to: int | None = None  # ours: the message whose button was pressed


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's word on what became of a message we sent."""

    provider_id: str
    status: str
    error_code: str | None = None
    message_id: int | None = None  # ours, where the provider carries it back


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """An HTTP request from a provider, as the web layer hands it to a channel: the URL the
    provider called (as it signed it), the headers and the raw body."""

    url: str
    headers: Mapping[str, str]
    body: bytes


class Channel(Protocol):
    """Reaches people at addresses of one scheme."""

    name: str  # what the message log records: sms, simulator, slack
    scheme: str  # the addresses it serves: tel, sim, slack
    rehearsal: bool  # made-up people (the phone simulator): nothing waits for quiet hours

    def render(self, content: Content, language: str) -> Rendered:
        """``content`` as this channel shows it to a person who reads ``language``."""
        ...

    async def send(self, message: Outgoing) -> SendResult:
        """Send ``message`` once; never raise for a provider's answer, return it. Many sends
        are in flight at once on the dispatcher's event loop, so a send never blocks it
        (a blocking client runs in a thread: ``asyncio.to_thread``)."""
        ...

    async def close(self) -> None:
        """Let go of what sends opened on the running event loop (kept-alive connections);
        the dispatcher calls it when a flush ends."""
        ...

    def explain(self, error_code: str) -> SendResult | None:
        """What an error code in a later delivery report means (None: nothing to act on)."""
        ...


@runtime_checkable
class ReceivingChannel(Channel, Protocol):
    """A channel whose provider calls us over HTTP with messages and delivery reports.

    Both raise ``outreach.errors.Refused`` (with a reason and an HTTP status) for a request
    that is not signed by the provider or does not make sense; nothing is read from it then.
    """

    def read_message(self, request: ProviderRequest) -> Inbound: ...

    def read_status(self, request: ProviderRequest) -> DeliveryReport: ...
