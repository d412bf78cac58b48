"""A fake Slack: the Web API methods Outreach calls, on a local port, and Slack's side of the
app's events and interactions.

Its Web API answers ``auth.test``, ``conversations.open``, ``chat.postMessage``,
``chat.update``, ``conversations.history``, ``conversations.replies`` and ``users.info`` the way
Slack does (``{"ok": true, ...}``, or ``{"ok": false, "error": ...}``), checks the bot token,
records every call, and can be told to answer the next calls to a method with an error or a
429 with ``Retry-After``. It keeps each DM as Slack would (messages posted, then updated), so
the demo's Slack view and tests read what a person would see. Channels the app was invited to
(``add_channel``: a partner's handoff or digest channel) keep their messages and threads too.

Towards the app it plays Slack too: a person pressing a button, choosing "Stop these
messages", typing in the DM or replying in a channel's thread becomes a request to
``events_url`` signed with the signing secret, exactly as Slack sends it. Tests, the demo
and rehearsals point the real ``slack_sdk`` ``WebClient`` at it:

    with FakeSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Call:
    """One Web API call as the fake received it, and the HTTP status it answered."""

    method: str
    params: Mapping[str, Any]
    status: int


@dataclass
class _Scripted:
    status: int
    error: str
    retry_after: int | None


@dataclass
class FakeSlack:
    """A running fake workspace; use as a context manager, or ``start()`` and ``stop()``."""

    bot_token: str = "xoxb-fake-bot-token"
    signing_secret: str = "fake-signing-secret"
    team_id: str = "T0FAKETEAM"
    bot_user_id: str = "U0FAKEBOT"
    bot_id: str = "B0FAKEBOT"
    events_url: str | None = None  # where Slack's side posts events and interactions
    host: str = "127.0.0.1"
    port: int = 0
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> profile
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[_Scripted]] = {}
        self._dms: dict[str, list[dict[str, Any]]] = {}  # channel id -> messages, oldest first
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The Web API's base URL, for ``WebClient(base_url=...)``."""
        assert self._server is not None, "start the fake first"
        return f"http://{self.host}:{self._server.server_address[1]}/api/"

    def add_user(self, user_id: str, name: str, *, tz: str = "Europe/London") -> None:
        """A person in the workspace, as ``users.info`` describes them."""
        with self._lock:
            self.users[user_id] = {"id": user_id, "name": name, "real_name": name, "tz": tz}

    def fail_next(
        self,
        method: str,
        count: int = 1,
        *,
        status: int = 200,
        error: str = "internal_error",
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` calls to ``method`` with this error."""
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Scripted(status, error, retry_after) for _ in range(count))

    def rate_limit_next(self, method: str, count: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next ``count`` calls to ``method`` with 429 and ``Retry-After``."""
        self.fail_next(method, count, status=429, error="ratelimited", retry_after=retry_after)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id[1:]

    def dm(self, user_id: str) -> list[dict[str, Any]]:
        """The DM between the app and a person as they see it, oldest first."""
        return self.history(self.dm_channel(user_id))

    def add_channel(self, channel_id: str) -> None:
        """A channel the app is a member of (a partner's handoff or digest channel)."""
        with self._lock:
            self._dms.setdefault(channel_id, [])

    def history(self, channel_id: str) -> list[dict[str, Any]]:
        """Every message in a channel or DM, thread replies included, oldest first."""
        with self._lock:
            return [dict(m) for m in self._dms.get(channel_id, [])]

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """A thread: its parent message, then the replies."""
        return [m for m in self.history(channel_id) if ts in (m["ts"], m.get("thread_ts"))]

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._answer(self)

            def do_POST(self) -> None:
                fake._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: what matters is in ``calls``."""

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- Slack's side: what a person does, sent to the app ------------------------------------

    def signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers Slack signs a request with (slack_sdk's ``SignatureVerifier``)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=stamp, body=body
        )
        assert signature is not None
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}

    def press(
        self,
        user_id: str,
        ts: str,
        value: str,
        *,
        as_shown: dict[str, Any] | None = None,
        channel: str | None = None,
    ) -> int:
        """The person presses the button with ``value`` on the message ``ts`` (in their DM
        with the app, or in ``channel``); returns the app's HTTP status. ``as_shown`` is the
        message as their screen still shows it (a second press before the update arrives)."""
        where = channel or self.dm_channel(user_id)
        message = as_shown or self._message(where, ts)
        for block in message.get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("value") == value:
                    action = {
                        **element,
                        "block_id": block.get("block_id", ""),
                        "action_ts": self._next_ts(),
                    }
                    return self._interact(user_id, message, action, where)
        raise LookupError(f"no button with value {value!r} on that message")

    def choose(self, user_id: str, ts: str, value: str) -> int:
        """The person picks the option with ``value`` from the message's menu ("Stop these
        messages" is ``stop``)."""
        message = self._message(self.dm_channel(user_id), ts)
        for block in message.get("blocks", []):
            menu = block.get("accessory") or {}
            chosen = [o for o in menu.get("options", []) if o.get("value") == value]
            if menu.get("type") == "overflow" and chosen:
                action = {
                    "type": "overflow",
                    "action_id": menu["action_id"],
                    "block_id": block.get("block_id", "section"),
                    "selected_option": chosen[0],
                    "action_ts": self._next_ts(),
                }
                return self._interact(user_id, message, action, self.dm_channel(user_id))
        raise LookupError(f"that message has no menu option {value!r}")

    def say(self, user_id: str, text: str) -> int:
        """The person types ``text`` in their DM with the app."""
        return self._typed(user_id, self.dm_channel(user_id), text, {"channel_type": "im"})

    def reply_in_thread(self, user_id: str, channel: str, thread_ts: str, text: str) -> int:
        """Someone types ``text`` in the thread under ``thread_ts`` in ``channel``."""
        extra = {"channel_type": "channel", "thread_ts": thread_ts}
        return self._typed(user_id, channel, text, extra)

    def _typed(self, user_id: str, channel: str, text: str, extra: dict[str, str]) -> int:
        ts = self._next_ts()
        with self._lock:
            kept = {"ts": ts, "user": user_id, "text": text}
            if "thread_ts" in extra:
                kept["thread_ts"] = extra["thread_ts"]
            self._dms.setdefault(channel, []).append(kept)
        event = {
            "type": "message",
            "channel": channel,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "client_msg_id": secrets.token_hex(8),
            **extra,
        }
        payload = {
            "token": "unused",
            "team_id": self.team_id,
            "api_app_id": "A0FAKEAPP",
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True}
            ],
        }
        return self.post_to_app(json.dumps(payload).encode(), "application/json")

    def post_to_app(self, body: bytes, content_type: str, *, timestamp: int | None = None) -> int:
        """Post a signed request to the app, as Slack does; returns its HTTP status."""
        assert self.events_url, "tell the fake where the app is: events_url"
        request = urllib.request.Request(
            self.events_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                **self.signed_headers(body, timestamp=timestamp),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def _interact(
        self, user_id: str, message: dict[str, Any], action: dict[str, Any], channel: str
    ) -> int:
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user_id, "team_id": self.team_id},
            "api_app_id": "A0FAKEAPP",
            "token": "unused",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._ts)}.{secrets.token_hex(6)}",
            "channel": {"id": channel, "name": "directmessage" if channel[0] == "D" else "x"},
            "message": message,
            "actions": [action],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post_to_app(body, "application/x-www-form-urlencoded")

    def _message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            for message in self._dms.get(channel, []):
                if message["ts"] == ts:
                    return dict(message)
        raise LookupError(f"no message {ts} in {channel}")

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # -- the Web API ---------------------------------------------------------------------------

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(request.path)
        method = split.path.removeprefix("/api/")
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(split.query))
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(min(length, MAX_BODY)) if length else b""
        kind = request.headers.get("Content-Type", "")
        if body and kind.startswith("application/json"):
            params.update(json.loads(body))
        elif body:
            params.update(urllib.parse.parse_qsl(body.decode()))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        token = token or params.pop("token", "")
        status, answer, headers = self._call(method, params, token)
        with self._lock:
            self.calls.append(Call(method, params, status))
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    def _call(
        self, method: str, params: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not secrets.compare_digest(token, self.bot_token):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        with self._lock:
            queue = self._failures.get(method)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            wait = scripted.retry_after
            headers = {"Retry-After": str(wait)} if wait is not None else {}
            return scripted.status, {"ok": False, "error": scripted.error}, headers
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(params), {}

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.example/",
            "team": "Fake workspace",
            "user": "outreach",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", "")).split(",")
        if len(users) != 1 or not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        if self.users and users[0] not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel = self.dm_channel(users[0])
        with self._lock:
            self._dms.setdefault(channel, [])
        return {"ok": True, "channel": {"id": channel}}

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        text, blocks = params.get("text"), _blocks(params.get("blocks"))
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        message = {
            "type": "message",
            "ts": self._next_ts(),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": text or "",
            "blocks": blocks,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        with self._lock:
            if channel not in self._dms:
                return {"ok": False, "error": "channel_not_found"}
            self._dms[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        with self._lock:
            for message in self._dms.get(channel, []):
                if message["ts"] == ts:
                    message["text"] = params.get("text", message["text"])
                    message["blocks"] = _blocks(params.get("blocks")) or message.get("blocks", [])
                    message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
                    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _api_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            found = self._dms.get(str(params.get("channel", "")))
            if found is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "messages": [dict(m) for m in reversed(found)], "has_more": False}

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = str(params.get("ts", ""))
        with self._lock:
            found = self._dms.get(str(params.get("channel", "")))
            if found is None:
                return {"ok": False, "error": "channel_not_found"}
            thread = [m for m in found if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": thread, "has_more": False}

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {**user, "team_id": self.team_id, "is_bot": False}}


def _blocks(value: Any) -> list[dict[str, Any]]:
    """Blocks as posted: JSON text in a form, or a list in a JSON body."""
    if isinstance(value, str):
        value = json.loads(value) if value else []
    return list(value or [])
