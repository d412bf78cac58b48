"""SMS through Twilio: sending with the real ``twilio`` client, and reading Twilio's webhooks.

Sends go through the twilio client's asynchronous API over ``aiohttp`` (``PooledHttpClient``):
one worker keeps a thousand messages a second in flight on one thread, where the client's
default ``requests`` transport, one thread per send, spent 1.3 ms of CPU a message (against
0.4 ms) and capped a worker at about 600 a second on the project's machine. Connections are
kept alive for the length of a flush. Twilio's own async client may resend a POST when it is
told to retry, so this one never retries: each call is exactly one request, and the outbox
owns retries, with its own backoff. Errors come in two shapes: the legacy
``TwilioRestException`` and the newer RFC 9457 ``TwilioServiceException``, a sibling rather
than a subclass, so both are caught through their common base, ``TwilioException``.

Every webhook is checked with Twilio's own ``RequestValidator`` over every posted parameter and
the URL Twilio called (the web layer rebuilds it from the public URL: behind a TLS-terminating
proxy the request this process sees says ``http://`` while Twilio signed ``https://``).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Sequence

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from outreach.channels.base import (
    DeliveryReport,
    Inbound,
    Outgoing,
    ProviderRequest,
    Rendered,
    SendResult,
)
from outreach.channels.sms import SmsRenderer
from outreach.contacts.phones import normalize_phone
from outreach.content import Content
from outreach.errors import InvalidPhoneNumber, RequestRefused

log = logging.getLogger(__name__)

# Errors after which the number itself must not be used again, and why.
SUPPRESS = {
    21211: "invalid number",
    21614: "not a mobile number",
    21612: "cannot be reached from this sender",
    30003: "unreachable handset",
    30005: "unknown or inactive number",
    30006: "landline or unreachable carrier",
}
CARRIER_OPT_OUT = 21610  # the person replied STOP to the carrier: an opt-out, not a fault
RATE_LIMITED = 20429
MAX_FIELDS = 100
MAX_SMS_BODY = 1600  # Twilio's own limit for one message
# What Twilio's values look like; anything else in a signed request is a malformed one (a
# bug or a forgery with a leaked token), refused with a 400 rather than stored.
VALID = {
    "MessageSid": re.compile(r"[A-Za-z0-9]{2,64}"),
    "MessageStatus": re.compile(r"[A-Za-z_]{1,32}"),
    "ErrorCode": re.compile(r"[0-9]{1,10}"),
}
OUR_ID = re.compile(r"[0-9]{1,18}")  # a message id of ours, as our callback address carries it


def make_client(
    account_sid: str, auth_token: str, *, api_url: str | None = None, timeout: float = 10.0
) -> Client:
    """A twilio ``Client`` that sends asynchronously and never retries on its own;
    ``api_url`` points it elsewhere (the fake Twilio in tests and rehearsals)."""
    client = Client(account_sid, auth_token, http_client=PooledHttpClient(timeout=timeout))
    if api_url:
        client.api.base_url = api_url.rstrip("/")
    return client


class PooledHttpClient(AsyncHttpClient):  # type: ignore[misc]
    """The twilio client's transport: ``aiohttp``, with connections kept alive.

    A pool (an ``aiohttp.ClientSession``) belongs to the event loop that opened it, and each
    flush of the outbox runs on its own loop, so there is one pool per running loop, closed
    by ``close`` at the end of the flush. The proxy the environment names (``HTTPS_PROXY``,
    ``NO_PROXY``) is read once per pool: reading it for every request cost half as much again
    as the request itself. A connection that fails is never tried again here (no retries).
    """

    def __init__(self, *, timeout: float) -> None:
        super().__init__(log, True, timeout)
        self._timeout = aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)
        self._pools: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._lock = threading.Lock()

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        sent = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        async with self._pool(uri).request(
            method,
            uri,
            params={key: str(value) for key, value in (params or {}).items()},
            data=data,
            headers=sent,
            allow_redirects=allow_redirects,
            timeout=self._timeout,
        ) as answer:
            return Response(answer.status, await answer.text(), answer.headers)

    def _pool(self, uri: str) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        with self._lock:
            pool = self._pools.get(loop)
            if pool is None:
                pool = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0), proxy=_proxy_for(uri)
                )
                self._pools[loop] = pool
            return pool

    async def close(self) -> None:
        """Close the connections opened on the running event loop."""
        with self._lock:
            pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url``, if any."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class TwilioSMSChannel:
    """Sends SMS from a number (or a sender ID) or through a Messaging Service, and reads the
    messages and delivery reports Twilio posts to us."""

    name = "sms"
    scheme = "tel"
    rehearsal = False

    def __init__(
        self,
        client: Client,
        *,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        our_numbers: Sequence[str] = (),
        region: str = "GB",
        renderer: SmsRenderer | None = None,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("give a From number or a Messaging Service SID")
        self.client = client
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.our_numbers = list(our_numbers) or ([from_number] if from_number else [])
        self.region = region
        self.renderer = renderer or SmsRenderer()
        self._validator = RequestValidator(auth_token)

    def render(self, content: Content, language: str) -> Rendered:
        return self.renderer.render(content, language)

    # -- webhooks ------------------------------------------------------------------------------

    def read_message(self, request: ProviderRequest) -> Inbound:
        """A person texted one of our numbers."""
        params = self._verified_form(request, ("MessageSid", "From", "To"))
        if not self._ours(params["To"]):
            log.warning(
                "refused an SMS to a number that is not configured as ours (ending %s): "
                "add it to OUTREACH_TWILIO_NUMBERS",
                params["To"][-3:],
            )
            raise RequestRefused("unknown-to", 404)
        try:
            sender = normalize_phone(params["From"], self.region)
        except InvalidPhoneNumber:
            raise RequestRefused("bad-from", 400) from None
        body = params.get("Body", "")[:MAX_SMS_BODY]
        return Inbound(self.scheme, sender, body, params["MessageSid"])

    def read_status(self, request: ProviderRequest) -> DeliveryReport:
        """Twilio reports what became of a message we sent; our id rides in the callback
        address (see ``send``)."""
        params = self._verified_form(request, ("MessageSid", "MessageStatus"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
        ours = (query.get("message") or [""])[0]
        if ours and not OUR_ID.fullmatch(ours):
            raise RequestRefused("malformed", 400)
        return DeliveryReport(
            provider_id=params["MessageSid"],
            status=params["MessageStatus"].lower(),
            error_code=params.get("ErrorCode") or None,
            message_id=int(ours) if ours else None,
        )

    def _verified_form(self, request: ProviderRequest, required: tuple[str, ...]) -> dict[str, str]:
        """The posted parameters, once the signature and the form itself have been checked."""
        body = request.body
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=bool(body),
                max_num_fields=MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise RequestRefused("malformed", 400) from None
        params = dict(pairs)
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise RequestRefused("missing-signature", 403)
        if not self._validator.validate(request.url, params, signature):
            raise RequestRefused("bad-signature", 403)
        if len(pairs) != len(params) or any(not params.get(name) for name in required):
            raise RequestRefused("malformed", 400)
        for name, pattern in VALID.items():
            if params.get(name) and not pattern.fullmatch(params[name]):
                raise RequestRefused("malformed", 400)
        return params

    def _ours(self, to: str) -> bool:
        if not self.our_numbers and self.messaging_service_sid:
            return True  # a Messaging Service may own any number in its pool
        return to in self.our_numbers

    # -- sending -------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> SendResult:
        options: dict[str, str] = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            assert self.from_number is not None
            options["from_"] = self.from_number
        if self.status_callback:
            # Our id in the callback address: a report that outruns our record of Twilio's
            # answer (it happens) still finds its message.
            options["status_callback"] = f"{self.status_callback}?message={message.message_id}"
        try:
            created = await self.client.messages.create_async(**options)
        except (TwilioRestException, TwilioServiceException) as exc:
            return classify_error(exc.status, exc.code)
        except TwilioException as exc:
            return SendResult("retry", error=f"Twilio client error: {type(exc).__name__}")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
            return SendResult("retry", error="could not connect to Twilio")
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The request went out and no answer came back: Twilio may have accepted it, and
            # sending again could text the person twice.
            return SendResult(
                "unknown",
                error=f"no answer from Twilio after sending ({type(exc).__name__}); not resent",
            )
        # Twilio answers "queued" (queued at Twilio, for the carrier); recorded as "accepted",
        # so the record never confuses it with our own "queued" (waiting in our outbox).
        status = "accepted" if created.status == "queued" else created.status
        return SendResult("sent", provider_id=created.sid, status=status)

    async def close(self) -> None:
        """Close the connections this flush's sends opened."""
        transport = self.client.http_client
        if isinstance(transport, PooledHttpClient):
            await transport.close()

    def explain(self, error_code: str) -> SendResult | None:
        """A delivery report's error: 21610 and the dead-number codes change the contact."""
        return classify_error(400, int(error_code)) if error_code.isdigit() else None


def classify_error(status: int, code: int | None) -> SendResult:
    """What an error answer from Twilio means for the message.

    >>> classify_error(429, 20429).outcome, classify_error(400, 21211).suppress
    ('retry', 'invalid number')
    >>> classify_error(400, 21610).opted_out
    True
    """
    text = str(code) if code is not None else None
    if code == CARRIER_OPT_OUT:
        return SendResult(
            "failed",
            error_code=text,
            error="the person unsubscribed at the carrier",
            opted_out=True,
        )
    if code in SUPPRESS:
        return SendResult("failed", error_code=text, error=SUPPRESS[code], suppress=SUPPRESS[code])
    if status == 429 or code == RATE_LIMITED:
        return SendResult("retry", error_code=text, error="rate limited by Twilio")
    if status >= 500:
        return SendResult("retry", error_code=text, error=f"Twilio error {status}")
    if status in (401, 403):
        # Our credentials, not the message: keep it queued until someone fixes the settings.
        return SendResult(
            "retry",
            error_code=text,
            error="Twilio refused our credentials: check TWILIO_AUTH_TOKEN",
        )
    return SendResult("failed", error_code=text, error=f"Twilio refused the message ({status})")
