"""The coordinators' handoffs page: who is waiting for a person, their conversation, a reply
box and Resolve, for teams without Slack (behind the login). Forms post with the session
cookie, which is ``SameSite=Strict``, and another origin's form is refused
(``outreach.web.security.SameOriginWrites``): no other page can act for a coordinator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outreach.conversations.handoffs import MAX_REPLY
from outreach.errors import HandoffError
from outreach.services.handoffs import HandoffDesk
from outreach.web.auth import logged_in
from outreach.web.common import runtime
from outreach.web.pages import templates

router = APIRouter()
HandoffId = Annotated[int, Path(ge=1, le=2**53)]
DONE = {"replied": "Your reply is on its way.", "resolved": "Resolved."}


def _desk(request: Request) -> HandoffDesk:
    rt = runtime(request)
    return HandoffDesk(rt.db, rt.team, rt.threads)


@router.get("/handoffs", response_class=HTMLResponse)
async def handoffs_page(request: Request) -> Response:
    if not logged_in(request):
        return RedirectResponse("/login", status_code=303)
    views = await run_in_threadpool(_desk(request).list)
    return templates.TemplateResponse(request, "handoffs.html", {"handoffs": views})


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
async def handoff_page(request: Request, handoff_id: HandoffId, done: str = "") -> Response:
    if not logged_in(request):
        return RedirectResponse("/login", status_code=303)
    return await _show(request, handoff_id, notice=DONE.get(done, ""))


@router.post("/handoffs/{handoff_id}/reply", response_class=HTMLResponse)
async def reply(
    request: Request,
    handoff_id: HandoffId,
    text: Annotated[str, Form(max_length=MAX_REPLY * 2)],
) -> Response:
    if not logged_in(request):
        return RedirectResponse("/login", status_code=303)
    try:
        await run_in_threadpool(_desk(request).reply, handoff_id, text, by="coordinator")
    except HandoffError as exc:
        return await _show(request, handoff_id, error=str(exc), draft=text, status=400)
    return RedirectResponse(f"/handoffs/{handoff_id}?done=replied", status_code=303)


@router.post("/handoffs/{handoff_id}/resolve", response_class=HTMLResponse)
async def resolve(request: Request, handoff_id: HandoffId) -> Response:
    if not logged_in(request):
        return RedirectResponse("/login", status_code=303)
    try:
        await run_in_threadpool(_desk(request).resolve, handoff_id, by="coordinator")
    except HandoffError as exc:
        return await _show(request, handoff_id, error=str(exc), status=400)
    return RedirectResponse(f"/handoffs/{handoff_id}?done=resolved", status_code=303)


async def _show(
    request: Request,
    handoff_id: int,
    *,
    notice: str = "",
    error: str = "",
    draft: str = "",
    status: int = 200,
) -> Response:
    try:
        view = await run_in_threadpool(_desk(request).show, handoff_id)
    except HandoffError as exc:
        return templates.TemplateResponse(
            request, "handoffs.html", {"handoffs": [], "error": str(exc)}, status_code=404
        )
    return templates.TemplateResponse(
        request,
        "handoff.html",
        {
            "handoff": view,
            "notice": notice,
            "error": error,
            "draft": draft,
            "max_reply": MAX_REPLY,
        },
        status_code=status,
    )
