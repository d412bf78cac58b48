"""The coordinators' results pages: each event's numbers and what people said, free-text
answers with search and themes, reach by declared group, and people (search, timeline,
consent). Server-rendered HTML that needs no script; everything behind the login.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.errors import ContactNotFound, EventNotFound
from outreach.services.decisions import all_results
from outreach.services.people import People
from outreach.services.results import STATUSES, EventAbout, EventResults, Results
from outreach.store import events as stored_events
from outreach.web.auth import logged_in
from outreach.web.common import ContactId, runtime
from outreach.web.pages import templates
from outreach.web.report import local_time

THEME = r"^[\w][\w \-]{0,63}$"
PAGE_FRESHNESS = timedelta(seconds=30)
"""How old an event's numbers on a page may be (counting them again takes a moment)."""


def page_login(request: Request) -> None:
    """A dependency for pages: someone not logged in is sent to the login page."""
    if not logged_in(request):
        raise HTTPException(303, "log in first", headers={"Location": "/login"})


router = APIRouter(dependencies=[Depends(page_login)])


def _page(request: Request, name: str, section: str, **context: object) -> Response:
    return templates.TemplateResponse(request, name, {"section": section, **context})


def _results(request: Request) -> Results:
    """The app's one results reader, which keeps each event's counts for a little while."""
    state = request.app.state
    if not hasattr(state, "results"):
        rt = runtime(request)
        state.results = Results(rt.db, clock=rt.clock, fresh_for=PAGE_FRESHNESS)
    found: Results = state.results
    return found


@router.get("/results", response_class=HTMLResponse)
def events(request: Request) -> Response:
    with runtime(request).db.transaction() as tx:
        found = [(e.id, e.title, e.starts_at, e.timezone) for e in stored_events.stored(tx)]
    found.sort(key=lambda e: (e[2], e[0]), reverse=True)
    return _page(
        request,
        "results/index.html",
        "results",
        events=[(i, t, local_time(z)(s)) for i, t, s, z in found],
    )


@router.get("/results/{event_id}", response_class=HTMLResponse)
def event(request: Request, event_id: str) -> Response:
    results = _event(request, event_id)
    return _page(
        request,
        "results/event.html",
        "results",
        r=results,
        statuses=STATUSES,
        local=local_time(results.timezone),
        answers_link=f"/results/{event_id}/answers",
        decisions=all_results(runtime(request).db, event=event_id),
        tab="event",
    )


@router.get("/results/{event_id}/answers", response_class=HTMLResponse)
def answers(
    request: Request,
    event_id: str,
    q: Annotated[str, Query(max_length=100)] = "",
    theme: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    service = _results(request)
    results = _about(request, event_id)
    return _page(
        request,
        "results/answers.html",
        "results",
        r=results,
        quotes=service.quotes(event_id, search=q, theme=theme),
        themes=service.themes(event_id),
        q=q,
        theme=theme,
        local=local_time(results.timezone),
        tab="answers",
    )


@router.post("/results/{event_id}/answers/{answer_id}/themes")
def tag_answer(
    request: Request,
    event_id: str,
    answer_id: ContactId,
    theme: Annotated[str, Form(pattern=THEME)],
    q: Annotated[str, Form(max_length=100)] = "",
    showing: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(pattern="^(answers|access)$")] = "answers",
) -> RedirectResponse:
    """Tag a quotable answer with a theme, or an access need as met (a form: no script)."""
    if not _results(request).tag(
        event_id, answer_id, theme.strip().lower(), now=runtime(request).clock()
    ):
        raise HTTPException(404, "no such answer to tag")
    kept = urlencode({key: value for key, value in (("q", q), ("theme", showing)) if value})
    return RedirectResponse(
        f"/results/{event_id}/{back}{'?' + kept if kept else ''}#answer-{answer_id}",
        status_code=303,
    )


@router.get("/results/{event_id}/access", response_class=HTMLResponse)
def access(request: Request, event_id: str) -> Response:
    results = _about(request, event_id)
    needs = _results(request).access_needs(event_id)
    return _page(
        request,
        "results/access.html",
        "results",
        r=results,
        needs=needs,
        local=local_time(results.timezone),
        tab="access",
    )


@router.get("/results/{event_id}/reach", response_class=HTMLResponse)
def reach(request: Request, event_id: str) -> Response:
    results = _about(request, event_id)
    reach = _results(request).reach(event_id)
    return _page(request, "results/reach.html", "results", r=results, reach=reach, tab="reach")


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    found = People(runtime(request).db).search(q) if q.strip() else []
    return _page(request, "results/people.html", "people", q=q, found=found)


@router.get("/people/{contact_id}", response_class=HTMLResponse)
def person(request: Request, contact_id: ContactId, reveal: bool = False) -> Response:
    rt = runtime(request)
    try:
        profile = People(rt.db, clock=rt.clock).profile(contact_id, reveal=reveal)
    except ContactNotFound:
        raise HTTPException(404, "no such person") from None
    return _page(
        request,
        "results/person.html",
        "people",
        p=profile,
        reveal=reveal,
        local=local_time("Europe/London"),
    )


def _about(request: Request, event_id: str) -> EventAbout:
    try:
        return _results(request).about(event_id)
    except EventNotFound:
        raise HTTPException(404, "no such event") from None


def _event(request: Request, event_id: str) -> EventResults:
    try:
        return _results(request).event(event_id)
    except EventNotFound:
        raise HTTPException(404, "no such event") from None
