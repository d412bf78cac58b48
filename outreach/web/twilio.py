"""Twilio's webhooks: inbound SMS and delivery status callbacks, handed to the SMS channel.

This adapter only turns the HTTP request into a ``ProviderRequest`` (with the URL Twilio
called, rebuilt from ``OUTREACH_PUBLIC_URL``) and the channel's answer into a response; the
channel checks the signature and reads the form. Refusals are counted and recorded, never with
the body or a phone number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from outreach.channels.base import ProviderRequest, ReceivingChannel
from outreach.errors import RequestRefused
from outreach.services.runtime import Runtime
from outreach.web.common import in_group_commit, in_writer, intake, read_body, refuse, runtime

router = APIRouter(prefix="/twilio")
log = logging.getLogger("outreach.web")

EMPTY_TWIML = str(MessagingResponse())
T = TypeVar("T")


def _form(*fields: str) -> dict[str, Any]:
    """The form Twilio posts, described for the API schema (read from the raw body, which
    the signature covers, so FastAPI does not parse it itself)."""
    properties = {name: {"type": "string"} for name in fields}
    schema = {"type": "object", "properties": properties, "required": list(fields[:2])}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


SMS_FORM = _form("MessageSid", "From", "To", "Body", "AccountSid", "NumSegments", "SmsSid")
STATUS_FORM = _form("MessageSid", "MessageStatus", "ErrorCode", "AccountSid", "To", "SmsSid")


async def _read(
    request: Request, read: Callable[[ReceivingChannel, ProviderRequest], T]
) -> tuple[ReceivingChannel, T]:
    """The SMS channel, and what it reads in this request (refused if it cannot)."""
    rt = runtime(request)
    body = await read_body(request, rt.settings.max_request_bytes)
    channel = rt.receiving_channel("tel")
    if channel is None:
        raise await refuse(request, reason="twilio-not-configured", status=503, size=len(body))
    try:
        return channel, read(
            channel, ProviderRequest(_signed_url(rt, request), request.headers, body)
        )
    except RequestRefused as exc:
        raise await refuse(request, reason=exc.reason, status=exc.status, size=len(body)) from None


def _signed_url(rt: Runtime, request: Request) -> str:
    """The URL Twilio called, as it signed it."""
    if not rt.settings.public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{rt.settings.public_url.rstrip('/')}{request.url.path}{query}"


@router.post("/sms", openapi_extra=SMS_FORM)
async def inbound_sms(request: Request) -> Response:
    """A person texted one of our numbers."""
    channel, inbound = await _read(request, lambda channel, req: channel.read_message(req))
    await in_group_commit(request, channel.name, inbound)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/status", openapi_extra=STATUS_FORM)
async def status_callback(request: Request) -> Response:
    """Twilio reports what became of a message we sent."""
    channel, report = await _read(request, lambda channel, req: channel.read_status(req))
    found = await in_writer(request, intake(request).status, channel.name, report)
    if found is False:
        log.warning("a status report for a message we have no record of")
    return Response(status_code=204)
