"""The coordinators' statements pages: moderate what people sent (approve, reject), add a
statement, and an event's common ground and divisions between groups. Behind the login;
forms post with the ``SameSite=Strict`` session cookie (another origin's are refused) and need
no script."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outreach.errors import EventNotFound, StatementError
from outreach.services.results import Results
from outreach.services.statements import DEFAULT_GROUPS, Statements
from outreach.store.opinions import MAX_LENGTH
from outreach.web.common import runtime
from outreach.web.pages import templates
from outreach.web.results import page_login

router = APIRouter(dependencies=[Depends(page_login)])
StatementId = Annotated[int, Path(ge=1, le=2**53)]
DONE = {
    "approved": "Approved: people will now be asked about it.",
    "rejected": "Rejected: nobody will be asked about it.",
    "added": "Added: people will now be asked about it.",
}
SHOWN = Literal["pending", "approved", "rejected"]


def _desk(request: Request) -> Statements:
    rt = runtime(request)
    return Statements(rt.db, clock=rt.clock)


@router.get("/statements", response_class=HTMLResponse)
async def statements_page(
    request: Request, status: SHOWN = "pending", done: str = "", error: str = ""
) -> Response:
    rows = await run_in_threadpool(_desk(request).listing, status=status)
    return templates.TemplateResponse(
        request,
        "statements.html",
        {
            "section": "statements",
            "rows": rows,
            "status": status,
            "notice": DONE.get(done, ""),
            "error": error[:200],
            "max_length": MAX_LENGTH,
        },
    )


@router.post("/statements/{statement_id}/{decision}")
async def moderate(
    request: Request, statement_id: StatementId, decision: Literal["approve", "reject"]
) -> RedirectResponse:
    status: Literal["approved", "rejected"] = "approved" if decision == "approve" else "rejected"
    try:
        await run_in_threadpool(_desk(request).moderate, statement_id, status, by="coordinator")
    except StatementError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/statements?done={status}", status_code=303)


@router.post("/statements")
async def add(
    request: Request,
    conversation: Annotated[str, Form(max_length=64)],
    text: Annotated[str, Form(max_length=MAX_LENGTH * 2)],
    language: Annotated[str, Form(pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")] = "en",
) -> RedirectResponse:
    try:
        await run_in_threadpool(
            _desk(request).add, conversation.strip(), text, language=language, by="coordinator"
        )
    except StatementError as exc:
        query = urlencode({"status": "approved", "error": str(exc)})
        return RedirectResponse(f"/statements?{query}", status_code=303)
    return RedirectResponse("/statements?status=approved&done=added", status_code=303)


@router.get("/results/{event_id}/statements", response_class=HTMLResponse)
async def common_ground(
    request: Request,
    event_id: str,
    groups: Annotated[str, Query(max_length=200)] = DEFAULT_GROUPS,
) -> Response:
    rt = runtime(request)
    try:
        about = await run_in_threadpool(Results(rt.db, clock=rt.clock).about, event_id)
    except EventNotFound:
        raise HTTPException(404, "no such event") from None
    error, found = "", None
    try:
        found = await run_in_threadpool(_desk(request).common_ground, event_id, groups=groups)
    except StatementError as exc:
        error = str(exc)
    return templates.TemplateResponse(
        request,
        "results/statements.html",
        {
            "section": "results",
            "r": about,
            "tab": "statements",
            "groups": groups,
            "found": found,
            "error": error,
        },
        status_code=400 if error else 200,
    )
