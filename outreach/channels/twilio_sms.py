"""SMS through Twilio's Messages API, with the real ``twilio`` client.

Twilio's client retries nothing on HTTP 429 and its async retry may resend a POST, so this
channel makes exactly one request per call and reports what came back; the outbox owns
retries, with its own backoff. Errors come in two shapes: the legacy ``TwilioRestException``
and the newer RFC 9457 ``TwilioServiceException``, a sibling rather than a subclass, so both
are caught through their common base, ``TwilioException``.
"""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from outreach.channels.base import Outgoing, SendResult

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


def make_client(
    account_sid: str, auth_token: str, *, api_url: str | None = None, timeout: float = 10.0
) -> Client:
    """A twilio ``Client`` that never retries on its own; ``api_url`` points it elsewhere
    (the fake Twilio in tests and rehearsals)."""
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if api_url:
        client.api.base_url = api_url.rstrip("/")
    return client


class TwilioSMSChannel:
    """Sends SMS from a number (or a sender ID) or through a Messaging Service."""

    name = "sms"

    def __init__(
        self,
        client: Client,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("give a From number or a Messaging Service SID")
        self.client = client
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    def send(self, message: Outgoing) -> SendResult:
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
            created = self.client.messages.create(**options)
        except (TwilioRestException, TwilioServiceException) as exc:
            return classify_error(exc.status, exc.code)
        except TwilioException as exc:
            return SendResult("retry", error=f"Twilio client error: {type(exc).__name__}")
        except requests.RequestException as exc:
            if _never_sent(exc):
                return SendResult("retry", error="could not connect to Twilio")
            # The request went out and no answer came back: Twilio may have accepted it, and
            # sending again could text the person twice.
            return SendResult("unknown", error="no answer from Twilio after sending; not resent")
        # Twilio answers "queued" (queued at Twilio, for the carrier); recorded as "accepted",
        # so the record never confuses it with our own "queued" (waiting in our outbox).
        status = "accepted" if created.status == "queued" else created.status
        return SendResult("sent", provider_id=created.sid, status=status)

    def explain(self, error_code: str) -> SendResult | None:
        """A delivery report's error: 21610 and the dead-number codes change the contact."""
        return classify_error(400, int(error_code)) if error_code.isdigit() else None


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could reach Twilio."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NewConnectionError | ConnectTimeoutError | NameResolutionError):
            return True
        if isinstance(seen, requests.exceptions.ConnectTimeout):
            return True
        reason = getattr(seen, "reason", None)
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else nested
    return False


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
