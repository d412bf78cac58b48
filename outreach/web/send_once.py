"""The page that sends a one-off message to a tag or an event's invitees: write, preview in
every language the audience reads (segments, cost, who will not get it), then send through
the outbox. Plain forms; no script needed."""

from __future__ import annotations

from typing import Annotated

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from outreach.services.once import MAX_TEXT, Audience, AudienceError, OneOff
from outreach.web.common import runtime
from outreach.web.pages import templates
from outreach.web.results import page_login

router = APIRouter(dependencies=[Depends(page_login)])
NAME = r"^[\w:.\-]{1,64}$"
WHY_NOT = {
    "opted_out": "opted out",
    "unreachable": "no number that takes messages",
    "no_text": "no text in their language",
}


def _service(request: Request) -> OneOff:
    rt = runtime(request)
    return OneOff(
        rt.db, rt.conversations.sender, rt.engine.translate, settings=rt.settings, clock=rt.clock
    )


def _page(request: Request, status: int = 200, **context: object) -> Response:
    base = {"section": "send", "why_not": WHY_NOT, "max_text": MAX_TEXT, "named": named}
    return templates.TemplateResponse(
        request, "results/send.html", {**base, **context}, status_code=status
    )


@router.get("/send", response_class=HTMLResponse)
def write(request: Request) -> Response:
    return _page(request, kind="tag", name="", texts={"en": ""}, languages={})


@router.post("/send", response_class=HTMLResponse)
async def preview_or_send(
    request: Request,
    kind: Annotated[str, Form(pattern="^(tag|event)$")],
    name: Annotated[str, Form(pattern=NAME)],
    action: Annotated[str, Form(pattern="^(preview|send)$")] = "preview",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = await request.form()
    texts = {
        str(field)[5:]: str(value)[: MAX_TEXT + 1]
        for field, value in form.multi_items()
        if str(field).startswith("text-") and len(str(field)) <= 20
    }
    service = _service(request)
    audience = Audience(tag=name) if kind == "tag" else Audience(event=name)
    languages = await run_in_threadpool(service.languages, audience)
    if action == "preview":
        texts = {**service.texts(texts.get("en", ""), [*languages, "en"]), **_written(texts)}
    try:
        if action == "send" and key:
            queued = await run_in_threadpool(service.send, audience, texts, key=key, actor="web")
            return _page(
                request, kind=kind, name=name, texts=texts, languages=languages, sent=queued
            )
        preview = await run_in_threadpool(service.preview, audience, texts)
    except AudienceError as exc:
        return _page(
            request, 422, kind=kind, name=name, texts=texts, languages=languages, error=str(exc)
        )
    return _page(request, kind=kind, name=name, texts=texts, languages=languages, preview=preview)


def _written(texts: dict[str, str]) -> dict[str, str]:
    return {language: text for language, text in texts.items() if text.strip()}


def named(code: str) -> str:
    """A language's name in English, for the coordinator ("Welsh (cy)")."""
    try:
        return f"{Locale.parse(code).get_display_name('en')} ({code})"
    except (ValueError, UnknownLocaleError):
        return code
