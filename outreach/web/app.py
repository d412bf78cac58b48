"""The ASGI application (FastAPI), served by uvicorn: ``outreach web`` and the Procfile's web."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from outreach.channels.fake_slack import FakeSlack
from outreach.services.group_commit import GroupCommit
from outreach.services.logins import LoginThrottle, Sessions
from outreach.services.runtime import Runtime
from outreach.services.spool import Intake, Spool
from outreach.services.webhooks import Refusals
from outreach.web import (
    auth,
    handoffs,
    health,
    simulator,
    slack,
    slack_simulator,
    statements,
    twilio,
)
from outreach.web.common import Counters
from outreach.web.decisions import router as decisions_page
from outreach.web.results import router as results_pages
from outreach.web.security import SameOriginWrites, SecurityHeaders
from outreach.web.send_once import router as send_once_page

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_HOURS = 8


class ContentLengthLimit:
    """Refuse, before reading them, requests that say they are larger than ``max_bytes``.

    Bodies sent without a length are bounded while they are read (``common.read_body``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"request too large"})
                return
        await self.app(scope, receive, send)


REFUSAL_COUNTS_EVERY = 10.0  # seconds between writes of refusal counts
SPOOL_REPLAY_EVERY = 2.0  # seconds between looks at the spool


async def _write_refusal_counts(app: FastAPI) -> None:
    """Refusals are counted in memory; their counts reach the store every few seconds."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(REFUSAL_COUNTS_EVERY)
        try:
            await loop.run_in_executor(app.state.writer, app.state.refusals.flush)
        except Exception:  # the database may be away; the counts wait for the next round
            log.exception("refusal counts could not be written; trying again")


async def _replay_spool(app: FastAPI) -> None:
    """Webhooks spooled while the database was away go into the store once it is back."""
    loop = asyncio.get_running_loop()
    intake: Intake = app.state.intake
    while True:
        await asyncio.sleep(SPOOL_REPLAY_EVERY)
        if not intake.spool.has_waiting():
            continue
        try:
            replayed = await loop.run_in_executor(app.state.writer, intake.replay)
        except Exception:  # a full disk, say: the spool stays, and so does the warning
            log.exception("the spool could not be replayed; trying again")
            continue
        if replayed:
            log.info("%d spooled webhook(s) replayed into the store", replayed)


def create_app(
    runtime: Runtime, *, background: object | None = None, fake_slack: FakeSlack | None = None
) -> FastAPI:
    """The web app over ``runtime``; ``background`` (a worker with start/stop) runs alongside;
    ``fake_slack`` is the demo's made-up Slack workspace, shown beside the phone simulator."""
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (flows, catalogs, SQLAlchemy's caches) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stall requests.
        gc.freeze()
        if background is not None:
            background.start()  # type: ignore[attr-defined]
        tasks = [
            asyncio.create_task(_write_refusal_counts(app)),
            asyncio.create_task(_replay_spool(app)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if background is not None:
                background.stop()  # type: ignore[attr-defined]
            app.state.messages.close()
            app.state.writer.submit(app.state.refusals.flush)
            app.state.writer.shutdown(wait=True)
            app.state.slack_executor.shutdown(wait=True)

    app = FastAPI(
        title="Outreach", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.runtime = runtime
    app.state.counters = Counters()
    app.state.refusals = Refusals(runtime.db, clock=runtime.clock)
    app.state.intake = Intake(
        Spool(settings.spool_dir),
        runtime.conversations.receive,
        runtime.dispatcher.record_delivery,
        receive_all=runtime.conversations.receive_all,
    )
    app.state.messages = GroupCommit(
        app.state.intake.messages,
        threads=runtime.db.dialect.writer_threads,
        name="messages",
    )
    app.state.login_throttle = LoginThrottle(runtime.db, clock=runtime.clock)
    app.state.sessions = Sessions(runtime.db, clock=runtime.clock)
    app.state.writer = ThreadPoolExecutor(
        runtime.db.dialect.writer_threads, thread_name_prefix="writer"
    )
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
    else:
        secret = secrets.token_urlsafe(32)
        log.warning("OUTREACH_SECRET_KEY is not set: logins last until this process restarts")
    app.state.device_signer = URLSafeSerializer(secret, salt="outreach-device")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="outreach_session",
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=(settings.public_url or "").startswith("https://"),
    )
    app.add_middleware(ContentLengthLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SameOriginWrites, public_url=settings.public_url)
    app.add_middleware(SecurityHeaders, https=(settings.public_url or "").startswith("https://"))
    # The client's address and scheme as a proxy we trust forwarded them; nobody else's word.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies or [])
    app.include_router(health.router)
    app.include_router(twilio.router)
    slack.mount(app, runtime)
    app.include_router(auth.router)
    app.include_router(simulator.router)
    app.include_router(handoffs.router)
    app.state.fake_slack = fake_slack
    app.include_router(slack_simulator.router)
    app.include_router(statements.router)
    app.include_router(results_pages)
    app.include_router(send_once_page)
    app.include_router(decisions_page)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
