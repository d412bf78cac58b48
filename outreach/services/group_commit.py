"""Group commit: the webhooks waiting for a writer are written in one transaction.

A webhook is answered only once what it carried is durable, so each one used to pay for a
commit of its own: on PostgreSQL a round trip and a wait for the WAL to reach the disk, on
SQLite the commit and the hand-over of its one write lock. Under load, requests queue for the
few writer threads anyway; so each writer takes every request waiting in its queue at once and
hands them to ``write_all``, which commits them together (one bad message rolled back alone)
and says what became of each. Only then is each request answered: with its result, or with
the error that failed it alone. When the queue is empty a request is written alone at once,
so nothing waits to fill a batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 64  # enough to share a commit widely; small enough to keep each wait short


class GroupCommit(Generic[T, R]):
    """Writer threads that write the requests waiting in their queue together.

    ``write_all(items)`` returns one outcome per item, in order: a result, or the exception
    that failed that item alone. If it raises, nothing of the batch was written, and every
    request of the batch gets that exception.
    """

    def __init__(
        self,
        write_all: Callable[[Sequence[T]], Sequence[R | Exception]],
        *,
        threads: int,
        max_batch: int = MAX_BATCH,
        name: str = "group-commit",
    ) -> None:
        self._write_all = write_all
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; the future is settled after the commit that holds it."""
        future: Future[R] = Future()
        # Running from the start, so it cannot be cancelled: a request that stops waiting
        # (its client went away) leaves its message in the batch, written all the same.
        future.set_running_or_notify_cancel()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Write what is queued, then stop the threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._write(batch)

    def _take(self) -> list[tuple[T, Future[R]]] | None:
        """The next request (waiting for one), with every other one already waiting."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                break
            if waiting is None:  # a stop: the batch is written first, then this thread stops
                self._queue.put(None)
                break
            batch.append(waiting)
        return batch

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            written = list(zip(batch, self._write_all([item for item, _ in batch]), strict=True))
        except Exception as exc:
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in written:
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
