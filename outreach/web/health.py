"""Liveness, readiness and counters, for the platform and for monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from outreach.web.common import runtime

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers: the process can do its work."""
    ready = await run_in_threadpool(runtime(request).db.ping)
    return JSONResponse(
        {"status": "ready" if ready else "database unreachable"}, status_code=200 if ready else 503
    )


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Counters in the Prometheus text format."""
    lines = ["# TYPE outreach_webhook_rejected_total counter"]
    for (name, label), count in request.app.state.counters.items():
        endpoint, _, reason = label.partition(":")
        lines.append(f'outreach_{name}_total{{endpoint="{endpoint}",reason="{reason}"}} {count}')
    return "\n".join(lines) + "\n"
