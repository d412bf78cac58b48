"""The coordinators' pages: login, and the phone simulator with its small JSON API.

Sessions are signed cookies (SameSite=strict). The JSON API accepts only ``application/json``
bodies, which a cross-site form cannot send, so a logged-in coordinator's browser cannot be
made to act by another site.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import deque
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from outreach.errors import ContactNotFound, FlowNotFound, InvalidPhoneNumber, SimulatorError
from outreach.services import simulator as sim
from outreach.web.common import runtime

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
FAILED_LOGIN_DELAY = 1.0


def _logged_in(request: Request) -> bool:
    return bool(request.session.get("coordinator"))


def _require_login(request: Request) -> None:
    if not _logged_in(request):
        raise HTTPException(401, "log in first")


def _require_json(request: Request) -> None:
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


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request) -> Response:
    if not _logged_in(request):
        return RedirectResponse("/login", status_code=303)
    rt = runtime(request)
    flows = [{"id": d.id, "description": d.flow.description} for d in rt.engine.flows.values()]
    return templates.TemplateResponse(
        request,
        "simulator.html",
        {
            "flows": sorted(flows, key=lambda f: f["id"]),
            "default_language": rt.settings.default_language,
        },
    )


# -- JSON API ----------------------------------------------------------------------------------

# Every call needs a login, and every POST a JSON body (checked in this order).
api = APIRouter(
    prefix="/simulator/api", dependencies=[Depends(_require_login), Depends(_require_json)]
)


class NewContact(BaseModel):
    phone: str = Field(max_length=32)
    first_name: str | None = Field(None, max_length=100)
    language: str = Field("en", max_length=16)


class Text(BaseModel):
    text: str = Field(min_length=1, max_length=1600)


class StartFlow(BaseModel):
    flow: str = Field(max_length=64)


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except (SimulatorError, InvalidPhoneNumber, FlowNotFound, ContactNotFound) as exc:
        raise HTTPException(400, str(exc)) from None


@api.get("/contacts")
async def api_contacts(request: Request) -> list[dict[str, Any]]:
    contacts = await _call(sim.list_contacts, runtime(request))
    return [_as_dict(c) for c in contacts]


@api.post("/contacts")
async def api_add_contact(request: Request, body: NewContact) -> dict[str, Any]:
    contact = await _call(
        sim.add_contact,
        runtime(request),
        phone=body.phone,
        first_name=body.first_name,
        language=body.language,
    )
    return _as_dict(contact)


@api.get("/contacts/{contact_id}")
async def api_conversation(request: Request, contact_id: int) -> dict[str, Any]:
    result: dict[str, Any] = await _call(sim.conversation, runtime(request), contact_id)
    return result


@api.post("/contacts/{contact_id}/send")
async def api_send(request: Request, contact_id: int, body: Text) -> dict[str, str]:
    await _call(sim.send, runtime(request), contact_id, body.text)
    return {"status": "sent"}


@api.post("/contacts/{contact_id}/start")
async def api_start(request: Request, contact_id: int, body: StartFlow) -> dict[str, str]:
    await _call(sim.start, runtime(request), contact_id, body.flow)
    return {"status": "started"}


@api.post("/contacts/{contact_id}/fire")
async def api_fire(request: Request, contact_id: int) -> dict[str, str | None]:
    fired: sim.Fired = await _call(sim.fire_next, runtime(request), contact_id)
    return {"fired": fired.kind, "message": fired.message}


def _as_dict(contact: sim.SimContact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "language": contact.language,
    }


router.include_router(api)
