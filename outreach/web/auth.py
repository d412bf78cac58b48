"""The coordinators' login: one shared password, sessions the server knows, a throttle on guesses.

The session cookie is signed (SameSite=strict, Secure over https) and holds the secret of a
session kept in the store (``outreach.services.logins``): logging out revokes it everywhere.
Wrong passwords are counted per device (a signed cookie set at a successful login) or, for a
browser that has never logged in, per client address: the address the connection comes from,
or the one a configured proxy (``OUTREACH_TRUSTED_PROXIES``) forwarded, and no other. JSON APIs
behind the login accept only ``application/json`` bodies, which a cross-site form cannot send.
Every coordinators' page and API depends on ``require_login``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool

from outreach.services.logins import LoginThrottle, Sessions
from outreach.web.common import runtime
from outreach.web.pages import templates

log = logging.getLogger(__name__)

router = APIRouter()
FAILED_LOGIN_DELAY = 1.0
DEVICE_COOKIE = "outreach_device"
DEVICE_DAYS = 365


def logged_in(request: Request) -> bool:
    """Whether the request comes from a coordinator whose session is still alive."""
    secret = request.session.get("login")
    if not isinstance(secret, str):
        return False
    sessions: Sessions = request.app.state.sessions
    return sessions.alive(secret)


def require_login(request: Request) -> None:
    """A dependency: the request must come from a logged-in coordinator (else 401)."""
    if not logged_in(request):
        raise HTTPException(401, "log in first")


def require_json(request: Request) -> None:
    """A dependency: a POST must carry JSON, which a cross-site form cannot send (else 415)."""
    if request.method == "POST" and (
        request.headers.get("content-type", "").split(";")[0].strip() != "application/json"
    ):
        raise HTTPException(415, "send JSON")


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/simulator", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    enabled = runtime(request).settings.admin_password is not None
    return templates.TemplateResponse(request, "login.html", {"enabled": enabled, "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, password: str = Form(..., max_length=200)) -> Response:
    expected = runtime(request).settings.admin_password
    throttle: LoginThrottle = request.app.state.login_throttle
    who = _who(request)
    wait = await run_in_threadpool(throttle.wait, who)
    if wait:
        minutes = max(1, round(wait / 60))
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "enabled": expected is not None,
                "error": f"Too many wrong passwords. Try again in {minutes} minute(s).",
            },
            status_code=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if expected is not None and hmac.compare_digest(
        password.encode(), expected.get_secret_value().encode()
    ):
        await run_in_threadpool(throttle.succeeded, who)
        sessions: Sessions = request.app.state.sessions
        request.session.clear()
        request.session["login"] = await run_in_threadpool(sessions.open)
        answer = RedirectResponse("/simulator", status_code=303)
        if not who.startswith("device:"):
            _remember_device(request, answer)
        return answer
    await run_in_threadpool(throttle.failed, who)
    await asyncio.sleep(FAILED_LOGIN_DELAY)  # slows down guessing
    return templates.TemplateResponse(
        request,
        "login.html",
        {"enabled": expected is not None, "error": "Wrong password."},
        status_code=401,
    )


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    secret = request.session.get("login")
    if isinstance(secret, str):
        sessions: Sessions = request.app.state.sessions
        await run_in_threadpool(sessions.end, secret)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _who(request: Request) -> str:
    """Whose guesses these are: a device that logged in before, else the client address."""
    signer: URLSafeSerializer = request.app.state.device_signer
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie:
        try:
            return f"device:{signer.loads(cookie)}"
        except BadSignature:
            log.info("a device cookie with a bad signature: counting by address")
    return f"address:{request.client.host if request.client else 'unknown'}"


def _remember_device(request: Request, response: Response) -> None:
    signer: URLSafeSerializer = request.app.state.device_signer
    response.set_cookie(
        DEVICE_COOKIE,
        str(signer.dumps(secrets.token_urlsafe(16))),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
