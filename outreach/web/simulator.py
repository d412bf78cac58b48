"""The phone simulator page and its small JSON API (behind the coordinators' login, which
``outreach.web.auth`` keeps)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from outreach.errors import ContactNotFound, FlowNotFound, InvalidPhoneNumber, SimulatorError
from outreach.services import simulator as sim
from outreach.web.auth import logged_in, require_json, require_login
from outreach.web.common import ContactId, runtime
from outreach.web.pages import templates

router = APIRouter()


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request) -> Response:
    if not logged_in(request):
        return RedirectResponse("/login", status_code=303)
    rt = runtime(request)
    flows = [{"id": d.id, "description": d.flow.description} for d in rt.engine.flows.values()]
    return templates.TemplateResponse(
        request,
        "simulator.html",
        {
            "flows": sorted(flows, key=lambda f: f["id"]),
            "default_language": rt.settings.default_language,
            "slack": request.app.state.fake_slack is not None,  # the demo's made-up workspace
        },
    )


# -- JSON API ----------------------------------------------------------------------------------

# Every call needs a login, and every POST a JSON body (checked in this order).
api = APIRouter(
    prefix="/simulator/api", dependencies=[Depends(require_login), Depends(require_json)]
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
async def api_conversation(request: Request, contact_id: ContactId) -> dict[str, Any]:
    result: dict[str, Any] = await _call(sim.conversation, runtime(request), contact_id)
    return result


@api.post("/contacts/{contact_id}/send")
async def api_send(request: Request, contact_id: ContactId, body: Text) -> dict[str, str]:
    await _call(sim.send, runtime(request), contact_id, body.text)
    return {"status": "sent"}


@api.post("/contacts/{contact_id}/start")
async def api_start(request: Request, contact_id: ContactId, body: StartFlow) -> dict[str, str]:
    await _call(sim.start, runtime(request), contact_id, body.flow)
    return {"status": "started"}


@api.post("/contacts/{contact_id}/fire")
async def api_fire(request: Request, contact_id: ContactId) -> dict[str, str | None]:
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
