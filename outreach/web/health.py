"""Liveness, readiness and counters, for the platform and for monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from outreach.web.common import intake, runtime

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers; degraded (still 200: webhooks are kept) while it does
    not, or while spooled webhooks wait to be replayed; 503 only when nothing could be kept."""
    answers = await run_in_threadpool(runtime(request).db.ping)
    spool = intake(request).spool
    waiting = await run_in_threadpool(spool.waiting)
    if answers and not waiting:
        return JSONResponse({"status": "ready"})
    database = "ok" if answers else "unreachable"
    body = {"status": "degraded", "database": database, "spooled": waiting}
    if not answers and not spool.writable():
        return JSONResponse({**body, "status": "unavailable"}, status_code=503)
    return JSONResponse(body)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Counters in the Prometheus text format."""
    lines = ["# TYPE outreach_webhook_rejected_total counter"]
    for (name, label), count in request.app.state.counters.items():
        endpoint, _, reason = label.partition(":")
        lines.append(f'outreach_{name}_total{{endpoint="{endpoint}",reason="{reason}"}} {count}')
    return "\n".join(lines) + "\n"
