"""The demo's Slack view: a made-up Slack person's DM with the app, beside the phone simulator.

The DM is read from the fake Slack workspace the demo runs (what the app posted and updated,
as Slack would show it); pressing a button, choosing from a message's menu or typing makes the
fake Slack send the app the signed request real Slack would, so the whole Slack path runs.
Without a fake Slack (a real deployment) these calls answer 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from outreach.channels.fake_slack import FakeSlack
from outreach.web.auth import require_json, require_login

router = APIRouter(
    prefix="/simulator/api/slack",
    dependencies=[Depends(require_login), Depends(require_json)],
)


class Action(BaseModel):
    ts: str = Field(max_length=32)
    value: str = Field(max_length=200)


class Typed(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


def _workspace(request: Request) -> FakeSlack:
    fake: FakeSlack | None = request.app.state.fake_slack
    if fake is None:
        raise HTTPException(404, "no made-up Slack workspace here (it runs with `outreach demo`)")
    return fake


def _person(fake: FakeSlack, user_id: str) -> None:
    if user_id not in fake.users:
        raise HTTPException(404, "no such person in the made-up Slack workspace")


@router.get("/people")
def people(request: Request) -> list[dict[str, str]]:
    fake = _workspace(request)
    return [{"id": u["id"], "name": u["real_name"]} for u in fake.users.values()]


@router.get("/people/{user_id}")
def dm(request: Request, user_id: str) -> dict[str, Any]:
    """The DM as the person sees it, oldest first."""
    fake = _workspace(request)
    _person(fake, user_id)
    return {
        "messages": [
            {
                "ts": m["ts"],
                "from": "app" if m.get("bot_id") else "person",
                "text": m.get("text", ""),
                "blocks": m.get("blocks", []),
                "edited": "edited" in m,
            }
            for m in fake.dm(user_id)
        ]
    }


async def _act(request: Request, user_id: str, work: Any, *args: Any) -> dict[str, int]:
    fake = _workspace(request)
    _person(fake, user_id)
    try:
        status = await run_in_threadpool(work, user_id, *args)
    except LookupError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"status": status}


@router.post("/people/{user_id}/press")
async def press(request: Request, user_id: str, body: Action) -> dict[str, int]:
    return await _act(request, user_id, _workspace(request).press, body.ts, body.value)


@router.post("/people/{user_id}/menu")
async def menu(request: Request, user_id: str, body: Action) -> dict[str, int]:
    return await _act(request, user_id, _workspace(request).choose, body.ts, body.value)


@router.post("/people/{user_id}/say")
async def say(request: Request, user_id: str, body: Typed) -> dict[str, int]:
    return await _act(request, user_id, _workspace(request).say, body.text)
