"""A fake Twilio: the part of the REST API Outreach uses, on a local port.

It answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` the way Twilio does (the JSON of a
message resource; error bodies in the legacy or the RFC 9457 shape), checks the account's
credentials, and then posts signed status callbacks (``sent``, then ``delivered`` or an error)
to the ``StatusCallback`` URL, as Twilio does. Tests, benchmarks and rehearsals point the real
``twilio`` client at it; they can make it fail, slow down, rate-limit or reject numbers.

    with FakeTwilio("AC" + "0" * 32, "token") as fake:
        client = make_client(fake.account_sid, fake.auth_token, api_url=fake.url)
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from twilio.request_validator import RequestValidator

from outreach.i18n.segments import count_segments


class _Server(ThreadingHTTPServer):
    """A thread per connection, and room for a dispatcher's many connections opened at once
    (the standard backlog of 5 drops the rest, and their requests are never answered)."""

    daemon_threads = True
    request_queue_size = 1024


@dataclass
class Failure:
    """A scripted answer for one coming request."""

    status: int
    code: int
    message: str = "scripted failure"
    rfc9457: bool = False  # answer in the newer problem-details shape


@dataclass
class FakeTwilio:
    """A running fake; use as a context manager, or ``start()`` and ``stop()``."""

    account_sid: str = "AC" + "f" * 32
    auth_token: str = "fake-auth-token"
    host: str = "127.0.0.1"
    port: int = 0
    latency: float = 0.0  # seconds before every answer (after a message is accepted)
    callback_delay: float = 0.01  # seconds between accepting and each status callback
    send_callbacks: bool = True
    hold_callbacks: bool = False  # keep callbacks until release_callbacks(), for exact ordering
    # numbers that Twilio refuses (error code), and numbers accepted but never delivered
    refuse: dict[str, int] = field(default_factory=dict)
    undeliverable: dict[str, int] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each message
    callbacks: list[tuple[str, dict[str, str], int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._callback_threads: list[threading.Thread] = []
        self._held: list[tuple[str, dict[str, Any]]] = []
        self.requests = 0

    # -- control -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def fail_next(self, count: int, *, status: int, code: int, rfc9457: bool = False) -> None:
        """Answer the next ``count`` create requests with this error."""
        with self._lock:
            self._failures.extend(Failure(status, code, rfc9457=rfc9457) for _ in range(count))

    def clear(self) -> None:
        """Forget the messages taken so far (a benchmark's next run)."""
        with self._lock:
            self.messages.clear()
            self.arrivals.clear()

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["to"] == number]

    def release_callbacks(self) -> None:
        """Post the status callbacks held so far."""
        with self._lock:
            held, self._held = self._held, []
        for url, message in held:
            thread = threading.Thread(target=self._report, args=(url, message), daemon=True)
            self._callback_threads.append(thread)
            thread.start()

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        """Wait until every status callback due so far has been posted."""
        deadline = time.monotonic() + timeout
        for thread in list(self._callback_threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer, sent at once: small separate writes meet delayed ACKs
            # and cost 40 ms each.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read what matters from ``messages``, not from a log."""

        self._server = _Server((self.host, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.wait_for_callbacks(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API -------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Messages"
        path = urllib.parse.urlsplit(request.path).path
        if not self._authorised(request.headers.get("Authorization", "")):
            return self._error(request, Failure(401, 20003, "Authenticate"))
        if request.command == "POST" and path == prefix + ".json":
            length = int(request.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(request.rfile.read(length).decode()))
            return self._create(request, form)
        if request.command == "GET" and path.startswith(prefix + "/") and path.endswith(".json"):
            sid = path[len(prefix) + 1 : -len(".json")]
            with self._lock:
                found = next((m for m in self.messages if m["sid"] == sid), None)
            if found is None:
                return self._error(
                    request, Failure(404, 20404, "The requested resource was not found")
                )
            if self.latency:
                time.sleep(self.latency)
            return self._json(request, 200, found)
        return self._error(request, Failure(404, 20404, "The requested resource was not found"))

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")

    def _create(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            return self._error(request, failure)
        to, body = form.get("To", ""), form.get("Body", "")
        if not to or not body or not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(
                request, Failure(400, 21604, "A 'To', 'Body' and 'From' are required")
            )
        if to in self.refuse:
            return self._error(request, Failure(400, self.refuse[to], f"Cannot send to {to}"))
        segments = count_segments(body)
        message: dict[str, Any] = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": str(segments.segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": formatdate(usegmt=True),
            "date_updated": formatdate(usegmt=True),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "GBP",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/SM.json",
            "subresource_uris": {},
        }
        with self._lock:
            self.messages.append(message)
            self.arrivals.append(time.monotonic())
        # Whether its reports get through is settled on arrival, not after the wait below.
        reports = self.send_callbacks
        if self.latency:  # accepted, then slow to say so: a client that gives up never knows
            time.sleep(self.latency)
        self._json(request, 201, message)
        callback = form.get("StatusCallback")
        if callback and reports:
            with self._lock:
                self._held.append((callback, message))
            if not self.hold_callbacks:
                self.release_callbacks()

    def _report(self, url: str, message: dict[str, Any]) -> None:
        """Post the status callbacks Twilio would, signed with the account's token."""
        code = self.undeliverable.get(message["to"])
        statuses = ["sent", "undelivered"] if code else ["sent", "delivered"]
        for status in statuses:
            time.sleep(self.callback_delay)
            message["status"] = status
            params = {
                "MessageSid": message["sid"],
                "SmsSid": message["sid"],
                "AccountSid": self.account_sid,
                "From": message["from"] or "",
                "To": message["to"],
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": "2010-04-01",
            }
            if code and status == "undelivered":
                params["ErrorCode"] = str(code)
                message["error_code"] = code
            signature = RequestValidator(self.auth_token).compute_signature(url, params)
            request = urllib.request.Request(
                url,
                data=urllib.parse.urlencode(params).encode(),
                method="POST",
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status_code = answer.status
            except urllib.error.HTTPError as exc:
                status_code = exc.code
            except OSError:
                status_code = 0
            with self._lock:
                self.callbacks.append((status, params, status_code))

    def _error(self, request: BaseHTTPRequestHandler, failure: Failure) -> None:
        if self.latency:
            time.sleep(self.latency)
        info = f"https://www.twilio.com/docs/errors/{failure.code}"
        if failure.rfc9457:
            body: dict[str, Any] = {
                "type": info,
                "title": failure.message,
                "status": failure.status,
                "code": failure.code,
                "detail": failure.message,
            }
        else:
            body = {
                "code": failure.code,
                "message": failure.message,
                "more_info": info,
                "status": failure.status,
            }
        self._json(request, failure.status, body)

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
