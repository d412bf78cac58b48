"""What every handler shares: the runtime, bounded body reading, counters, refusals."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Request

from outreach.channels.base import Inbound
from outreach.services.group_commit import GroupCommit
from outreach.services.runtime import Runtime
from outreach.services.spool import Intake
from outreach.services.webhooks import Refusals

log = logging.getLogger("outreach.web")
T = TypeVar("T")

ContactId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""A contact's id in a URL: bounded like the database's ids, so a long number is a 422."""


class Counters:
    """Counts for /metrics (no personal data: reasons and endpoints only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, name: str, label: str) -> None:
        with self._lock:
            self._counts[(name, label)] += 1

    def items(self) -> list[tuple[tuple[str, str], int]]:
        with self._lock:
            return sorted(self._counts.items())


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def intake(request: Request) -> Intake:
    found: Intake = request.app.state.intake
    return found


async def in_writer(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run a write off the event loop, in the app's few writer threads: one on SQLite, which
    has one writer anyway; two on PostgreSQL. More threads only queue for locks and the GIL,
    and their hand-offs cost more than the millisecond a write takes."""
    writer: ThreadPoolExecutor = request.app.state.writer
    return await asyncio.get_running_loop().run_in_executor(writer, work, *args)


async def in_group_commit(request: Request, channel: str, inbound: Inbound) -> None:
    """Hand a person's message to the writers of inbound messages, which commit every
    message waiting together (``outreach.services.group_commit``); returns once it is
    durable, or raises the error that failed it alone."""
    messages: GroupCommit[tuple[str, Inbound], None] = request.app.state.messages
    await asyncio.wrap_future(messages.submit((channel, inbound)))


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing it (413) as soon as it grows past ``limit``."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, "request too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def refuse(request: Request, *, reason: str, status: int, size: int) -> HTTPException:
    """Count a refused webhook, and record and log it while within the budget (a flood of
    forgeries costs a counter, not a write); returns the exception to raise."""
    endpoint = request.url.path
    request.app.state.counters.add("webhook_rejected", f"{endpoint}:{reason}")
    refusals: Refusals = request.app.state.refusals
    if refusals.count(endpoint, reason, status):
        log.warning("refused %s: %s (%s)", endpoint, reason, status)
        await in_writer(request, refusals.record, endpoint, reason, status, size)
    return HTTPException(status, reason)
