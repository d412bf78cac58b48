"""A real web server on loopback, a fake Twilio beside it, and signed requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.services.runtime import Runtime
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.web.app import create_app
from tests.conftest import mobile

OUR_NUMBER = mobile(900)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: FastAPI, port: int) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Site:
    """The web process under test, with what tests need to talk to it."""

    url: str
    runtime: Runtime
    fake: FakeTwilio
    clock: ManualClock
    public_url: str
    app: FastAPI

    def sign(
        self, path: str, params: dict[str, str], *, token: str | None = None, url: str | None = None
    ) -> str:
        signed_url = url or f"{self.public_url}{path}"
        return RequestValidator(token or self.fake.auth_token).compute_signature(signed_url, params)

    def post(
        self, path: str, params: dict[str, str], *, signature: str | None = "sign", **sign: Any
    ) -> httpx.Response:
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = self.sign(path, params, **sign)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return httpx.post(f"{self.url}{path}", data=params, headers=headers, timeout=10)

    def text_in(self, sender: str, body: str, *, sid: str) -> httpx.Response:
        return self.post(
            "/twilio/sms",
            {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": self.fake.account_sid,
                "From": sender,
                "To": OUR_NUMBER,
                "Body": body,
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            },
        )


def twilio_settings(
    settings: Settings, db: Database, fake: FakeTwilio, public_url: str, **extra: Any
) -> Settings:
    return settings.model_copy(
        update={
            "database_url": db.url,
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": SecretStr(fake.auth_token),
            "twilio_from_number": OUR_NUMBER,
            "twilio_api_url": fake.url,
            "public_url": public_url,
            "send_timeout_seconds": 2.0,
            **extra,
        }
    )


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as running_fake:
        yield running_fake


@contextmanager
def make_site(
    settings: Settings,
    db: Database,
    fake: FakeTwilio,
    clock: ManualClock,
    *,
    public_url: str | None = None,
    **extra: Any,
) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = twilio_settings(settings, db, fake, public_url or base, **extra)
    runtime = Runtime.build(configured, clock=clock, db=db)
    app = create_app(runtime)
    with running(app, port) as url:
        yield Site(url, runtime, fake, clock, public_url or base, app)


@pytest.fixture
def site(settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock) -> Iterator[Site]:
    with make_site(settings, db, fake, clock) as running_site:
        yield running_site


@pytest.fixture
def clock(t0: Any) -> ManualClock:
    return ManualClock(t0)
