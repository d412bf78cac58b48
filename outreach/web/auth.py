"""The coordinators' login: one shared password, signed session cookies, a throttle on guesses.

Sessions are signed cookies (SameSite=strict). JSON APIs behind the login accept only
``application/json`` bodies, which a cross-site form cannot send, so a logged-in coordinator's
browser cannot be made to act by another site. Every coordinators' page and API depends on
``require_login``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import deque

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.web.common import runtime
from outreach.web.pages import templates

router = APIRouter()
FAILED_LOGIN_DELAY = 1.0


def logged_in(request: Request) -> bool:
    """Whether the request comes from a coordinator who has logged in."""
    return bool(request.session.get("coordinator"))


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


class LoginThrottle:
    """Failed logins per address: after ``limit`` in ``window`` seconds, that address may
    not try again until the oldest failure is out of the window (per web process)."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def wait(self, address: str, now: float) -> float:
        """Seconds until ``address`` may try again (0: now)."""
        failures = self._failures.get(address)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
            return 0.0
        return failures[0] + self.window - now if len(failures) >= self.limit else 0.0

    def failed(self, address: str, now: float) -> None:
        if len(self._failures) > 10_000:  # bounded: forget the quietest addresses first
            self._failures.clear()
        self._failures.setdefault(address, deque()).append(now)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, password: str = Form(..., max_length=200)) -> Response:
    expected = runtime(request).settings.admin_password
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    now = time.monotonic()
    wait = throttle.wait(address, now)
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
        throttle.succeeded(address)
        request.session.clear()
        request.session["coordinator"] = True
        return RedirectResponse("/simulator", status_code=303)
    throttle.failed(address, now)
    await asyncio.sleep(FAILED_LOGIN_DELAY)  # slows down guessing
    return templates.TemplateResponse(
        request,
        "login.html",
        {"enabled": expected is not None, "error": "Wrong password."},
        status_code=401,
    )


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
