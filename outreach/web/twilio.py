"""Twilio's webhooks: inbound SMS and delivery status callbacks.

Every request is checked with Twilio's own ``RequestValidator`` over every posted parameter and
the URL Twilio called, rebuilt from ``OUTREACH_PUBLIC_URL`` plus the path and query: behind a
TLS-terminating proxy the request this process sees says ``http://``, while Twilio signed
``https://``, so the scheme must come from configuration. Refusals are counted and recorded,
never with the body or a phone number.
"""

from __future__ import annotations

import logging
import urllib.parse
from functools import partial

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from outreach.contacts.phones import normalize_phone
from outreach.errors import InvalidPhoneNumber
from outreach.services.conversations import Inbound
from outreach.services.runtime import Runtime
from outreach.web.common import in_writer, read_body, refuse, runtime

router = APIRouter(prefix="/twilio")
log = logging.getLogger("outreach.web")

EMPTY_TWIML = str(MessagingResponse())
MAX_FIELDS = 100
MAX_SMS_BODY = 1600  # Twilio's own limit for one message


async def _verified_form(request: Request, required: tuple[str, ...]) -> dict[str, str]:
    """The posted parameters, once the signature and the form itself have been checked."""
    rt = runtime(request)
    body = await read_body(request, rt.settings.max_request_bytes)
    if rt.settings.twilio_auth_token is None:
        raise await refuse(request, reason="twilio-not-configured", status=503, size=len(body))
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise await refuse(request, reason="malformed", status=400, size=len(body)) from None
    params = dict(pairs)
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        raise await refuse(request, reason="missing-signature", status=403, size=len(body))
    validator = RequestValidator(rt.settings.twilio_auth_token.get_secret_value())
    if not validator.validate(_signed_url(rt, request), params, signature):
        raise await refuse(request, reason="bad-signature", status=403, size=len(body))
    if len(pairs) != len(params) or any(not params.get(name) for name in required):
        raise await refuse(request, reason="malformed", status=400, size=len(body))
    return params


def _signed_url(rt: Runtime, request: Request) -> str:
    """The URL Twilio called, as it signed it."""
    if not rt.settings.public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{rt.settings.public_url.rstrip('/')}{request.url.path}{query}"


def _ours(rt: Runtime, to: str) -> bool:
    numbers = rt.settings.twilio_numbers or (
        [rt.settings.twilio_from_number] if rt.settings.twilio_from_number else []
    )
    if not numbers and rt.settings.twilio_messaging_service_sid:
        return True  # a Messaging Service may own any number in its pool
    return to in numbers


@router.post("/sms")
async def inbound_sms(request: Request) -> Response:
    """A person texted one of our numbers."""
    rt = runtime(request)
    params = await _verified_form(request, ("MessageSid", "From", "To"))
    if not _ours(rt, params["To"]):
        log.warning(
            "refused an SMS to a number that is not configured as ours (ending %s): "
            "add it to OUTREACH_TWILIO_NUMBERS",
            params["To"][-3:],
        )
        raise await refuse(request, reason="unknown-to", status=404, size=0)
    try:
        sender = normalize_phone(params["From"], rt.settings.default_region)
    except InvalidPhoneNumber:
        raise await refuse(request, reason="bad-from", status=400, size=0) from None
    inbound = Inbound("sms", sender, params.get("Body", "")[:MAX_SMS_BODY], params["MessageSid"])
    await in_writer(request, rt.conversations.receive, inbound)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/status")
async def status_callback(request: Request) -> Response:
    """Twilio reports what became of a message we sent."""
    rt = runtime(request)
    params = await _verified_form(request, ("MessageSid", "MessageStatus"))
    ours = request.query_params.get("message", "")
    found = await in_writer(
        request,
        partial(
            rt.outbox.record_delivery,
            channel="sms",
            provider_id=params["MessageSid"],
            status=params["MessageStatus"].lower(),
            error_code=params.get("ErrorCode") or None,
            message_id=int(ours) if ours.isdigit() else None,
        ),
    )
    if not found:
        log.warning("a status report for a message we have no record of")
    return Response(status_code=204)
