"""The Slack app: Bolt in HTTP mode at ``/slack/events`` (events, interactivity and slash
commands on one URL), served through Bolt's own Starlette adapter.

Bolt verifies every request (a bad or stale signature gets 401, recorded like a refused
Twilio webhook), answers Slack's ``url_verification`` and acknowledges at once; the work (the
conversation, the message update) runs after, in Bolt's listener threads, so Slack always
hears back within its three seconds. Slack will not send an acknowledged event again, so
what people send while the database is away goes to the web process's spool, as texts do.
Listeners only turn payloads into neutral values (the channel reads them) and hand them to
``outreach.services.slack``.

Bolt is handed the bot token through ``authorize``, so it never calls ``auth.test``: the app
builds and answers with no network. The same app runs over Socket Mode for local development
(``outreach slack socket``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from starlette.types import Message

from outreach.channels.slack import ANSWER_ACTION, MENU_ACTION, SlackChannel
from outreach.partners.threads import RESOLVE_ACTION
from outreach.services.runtime import Runtime
from outreach.services.slack import SlackInbox
from outreach.services.spool import Intake
from outreach.web.common import read_body, refuse, runtime

router = APIRouter()
COMMAND = "/outreach"
STALE_AFTER = 5 * 60  # seconds: slack_sdk's SignatureVerifier refuses older timestamps


def bolt_app(
    rt: Runtime, *, executor: ThreadPoolExecutor | None = None, intake: Intake | None = None
) -> App | None:
    """The Bolt app over ``rt``, or None when Slack is not configured. With ``intake`` (a web
    process's), what people send while the database is away is spooled."""
    channel = rt.channels.get("slack")
    settings = rt.settings
    if not isinstance(channel, SlackChannel) or settings.slack_signing_secret is None:
        return None
    assert settings.slack_bot_token is not None
    token = settings.slack_bot_token.get_secret_value()
    inbox = SlackInbox(rt.conversations, channel, rt.db, intake=intake)

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id=settings.slack_bot_user_id,
        )

    client = WebClient(base_url=channel.client.base_url, timeout=channel.client.timeout)
    app = App(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        authorize=authorize,
        process_before_response=True,  # answer with the ack alone; the work is lazy
        listener_executor=executor or ThreadPoolExecutor(4, thread_name_prefix="slack"),
    )

    def ack_now(ack: Ack) -> None:
        ack()

    def on_message(event: Mapping[str, Any]) -> None:
        inbound = channel.read_message(event)
        if inbound is not None:
            inbox.receive(inbound)
        else:  # a partner's reply in a handoff's thread, or nothing for us
            rt.threads.thread_message(event)

    def on_resolve(body: Mapping[str, Any]) -> None:
        rt.threads.resolve_pressed(body)

    def on_press(body: Mapping[str, Any]) -> None:
        inbox.press(channel.read_press(body))

    def on_menu(body: Mapping[str, Any]) -> None:
        inbox.receive(channel.read_menu(body))

    def on_command(command: Mapping[str, Any]) -> None:
        inbox.receive(channel.read_command(command))

    app.event("message")(ack=ack_now, lazy=[on_message])
    app.action(re.compile(rf"^{ANSWER_ACTION}_\d+$"))(ack=ack_now, lazy=[on_press])
    app.action(MENU_ACTION)(ack=ack_now, lazy=[on_menu])
    app.action(RESOLVE_ACTION)(ack=ack_now, lazy=[on_resolve])
    app.command(COMMAND)(ack=ack_now, lazy=[on_command])
    return app


def socket_mode(rt: Runtime, app_token: str) -> None:
    """Run the Slack app over Socket Mode until interrupted: Slack sends over a websocket
    this process opens, so a laptop needs no public URL."""
    bolt = bolt_app(rt)
    if bolt is None:
        raise RuntimeError("Slack is not configured")
    SocketModeHandler(bolt, app_token).start()  # type: ignore[no-untyped-call]


def mount(app: FastAPI, rt: Runtime) -> None:
    """Serve the Slack app at ``/slack/events`` (503 there when Slack is not configured)."""
    executor = ThreadPoolExecutor(4, thread_name_prefix="slack")
    bolt = bolt_app(rt, executor=executor, intake=app.state.intake)
    app.state.slack = SlackRequestHandler(bolt) if bolt is not None else None
    app.state.slack_executor = executor
    app.include_router(router)


# What Slack posts, described for the API schema: JSON events, or a form with a payload
# (buttons, menus) or a slash command; the raw body is read, as the signature covers it.
SLACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"payload": {"type": "string"}}}
            },
        },
    }
}


@router.post("/slack/events", openapi_extra=SLACK_BODY)
async def slack_events(request: Request) -> Response:
    """Everything Slack sends: events, button presses and menus, slash commands."""
    rt = runtime(request)
    body = await read_body(request, rt.settings.max_request_bytes)
    handler: SlackRequestHandler | None = request.app.state.slack
    if handler is None:
        raise await refuse(request, reason="slack-not-configured", status=503, size=len(body))
    problem = body_problem(body, request.headers.get("content-type", ""))
    if problem is not None:  # Bolt would raise on it before checking the signature
        raise await refuse(request, reason=problem, status=400, size=len(body))
    answer = await handler.handle(Request(request.scope, _replay(body)))
    if answer.status_code == 401:
        reason = refusal_reason(request.headers, time.time())
        raise await refuse(request, reason=reason, status=401, size=len(body))
    return answer


def body_problem(body: bytes, content_type: str = "") -> str | None:
    """Why Bolt could not read ``body`` (it raises rather than refuses), or None: as Bolt
    reads it, a JSON body must be an object, and so must a form's ``payload``.

    >>> body_problem(b'{"type": "event_callback"}'), body_problem(b"payload=%7B%7D")
    (None, None)
    >>> body_problem(b"{1"), body_problem(b"payload="), body_problem(b"[]", "application/json")
    ('malformed-json', 'malformed-payload', 'malformed-json')
    """
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "not-utf8"
    if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        return None if isinstance(_json(text), dict) else "malformed-json"
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None and not isinstance(_json(payload), dict):
            return "malformed-payload"
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def refusal_reason(headers: Mapping[str, str], now: float) -> str:
    """Why Bolt refused a request, as the record says it.

    >>> refusal_reason({}, 1000.0)
    'missing-signature'
    >>> refusal_reason({"x-slack-signature": "v0=1", "x-slack-request-timestamp": "1"}, 1000.0)
    'stale-signature'
    """
    stamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    if not stamp or not signature:
        return "missing-signature"
    if not stamp.isdigit() or abs(now - int(stamp)) > STALE_AFTER:
        return "stale-signature"
    return "bad-signature"


def _replay(body: bytes) -> Any:
    """A receive channel that hands over the body already read (and bounded) once more."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
