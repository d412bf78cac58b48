"""The page that records a decision ("you said, we did") and sends it back to the people
whose answers shaped it: write what changed in each language, choose the questions it
answers, preview who will be told (and who will not, and why), then send. Recorded decisions
are listed with who was told and what they replied. Plain forms; no script needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from outreach.decisions.schema import MAX_QUESTIONS, MAX_TEXT, DecisionSpec
from outreach.errors import DecisionError
from outreach.services.decisions import (
    all_results,
    languages_read,
    questions_in,
    questions_offered,
)
from outreach.web.common import runtime
from outreach.web.pages import templates
from outreach.web.results import page_login
from outreach.web.send_once import WHY_NOT, named

router = APIRouter(dependencies=[Depends(page_login)])
ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
QUESTION = r"^[a-z0-9][a-z0-9_-]{0,63}:[a-z0-9][a-z0-9_-]{0,63}$"


def _page(request: Request, status: int = 200, **context: object) -> Response:
    rt = runtime(request)
    base = {
        "section": "decisions",
        "why_not": WHY_NOT,
        "max_text": MAX_TEXT,
        "named": named,
        "questions": questions_offered(rt.engine.flows),
        "languages": list(dict.fromkeys(["en", *languages_read(rt.db)])),
        "decisions": all_results(rt.db),
        "form": {},
    }
    return templates.TemplateResponse(
        request, "results/decisions.html", {**base, **context}, status_code=status
    )


@router.get("/decisions", response_class=HTMLResponse)
def write(request: Request) -> Response:
    return _page(request)


@router.post("/decisions", response_class=HTMLResponse)
async def preview_or_send(
    request: Request,
    decision: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=200)],
    question: Annotated[list[str], Form(max_length=MAX_QUESTIONS)] = [],  # noqa: B006
    follow_up: Annotated[bool, Form()] = False,
    action: Annotated[str, Form(pattern="^(preview|send)$")] = "preview",
) -> Response:
    form = await request.form()
    texts = {
        str(field)[5:]: str(value)[: MAX_TEXT + 1]
        for field, value in form.multi_items()
        if str(field).startswith("text-") and len(str(field)) <= 20 and str(value).strip()
    }
    chosen = [q for q in question if len(q) <= 130]
    written = {
        "decision": decision,
        "title": title,
        "texts": texts,
        "questions": chosen,
        "follow_up": follow_up,
    }
    known = {q.describe() for q in questions_in(runtime(request).engine.flows)}
    unknown = [q for q in chosen if q not in known]
    if unknown:
        return _page(request, 422, form=written, error=f"there is no question {unknown[0]!r}")
    try:
        spec = DecisionSpec.model_validate(
            {
                "decision": decision,
                "title": title,
                "text": texts,
                "questions": [_question(q) for q in chosen],
                "follow_up": follow_up,
            }
        )
        decisions = runtime(request).decisions
        if action == "send":
            done = await run_in_threadpool(decisions.send, spec, source="web", actor="web")
            return _page(request, form=written, sent=done)
        preview = await run_in_threadpool(decisions.preview, spec)
    except ValidationError as exc:
        return _page(request, 422, form=written, error=_first(exc))
    except DecisionError as exc:
        return _page(request, 422, form=written, error=str(exc))
    return _page(request, form=written, preview=preview)


def _question(text: str) -> dict[str, str]:
    """``flow:answer`` as the form sends it; anything else is left for the schema to refuse."""
    flow, _, answer = text.partition(":")
    return {"flow": flow, "answer": answer}


def _first(exc: ValidationError) -> str:
    """The first problem, in words a coordinator can act on."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function"))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
