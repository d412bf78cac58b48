"""Where a conversation's writes go: to the store at once (one person's transaction), or
gathered over a batch of people and written with one statement per table when the batch is
done (``outreach.conversations.service.Conversations.start_due``).

A batch's new sessions have no id until they are stored: ``BatchWrites`` hands out negative
stand-ins (-1, -2, ...) and puts the real ids into the rows that point at them as it writes.
Only the writes a flow start makes go through here (a session, its messages, its timers);
an outcome that needs more (an answer, a tag, a handoff) is applied at once instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from outreach.store import due, messages, sessions


class Writes:
    """Each write as it is asked for."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create_session(self, values: dict[str, Any]) -> int:
        return sessions.create(self.connection, values)

    def save_session(self, session_id: int, values: dict[str, Any]) -> None:
        sessions.save(self.connection, session_id, values)

    def cancel_timers(self, session_id: int) -> None:
        due.cancel_timers(self.connection, session_id)

    def schedule_timer(self, row: dict[str, Any]) -> None:
        due.schedule_timer(self.connection, row)

    def queue(self, message: dict[str, Any], outbox: dict[str, Any] | None) -> int:
        """Log an outgoing message (and its outbox row, unless None); returns its id."""
        return messages.queue(self.connection, message, outbox)


@dataclass(frozen=True, slots=True)
class Mark:
    """How far a batch had got: where to go back to when one person's start fails."""

    sizes: tuple[int, ...]


@dataclass(slots=True)
class _Gathered:
    new_sessions: list[dict[str, Any]] = field(default_factory=list)
    saved: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    queued: list[tuple[dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)

    def lists(self) -> tuple[list[Any], ...]:
        return (self.new_sessions, self.saved, self.cancelled, self.timers, self.queued)


class BatchWrites(Writes):
    """Gathers a batch's writes; ``flush`` stores them, one statement (or executemany) a
    table. Message ids handed out before the flush are stand-ins too."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._gathered = _Gathered()

    def create_session(self, values: dict[str, Any]) -> int:
        self._gathered.new_sessions.append(values)
        return -len(self._gathered.new_sessions)

    def save_session(self, session_id: int, values: dict[str, Any]) -> None:
        self._gathered.saved.append((session_id, values))

    def cancel_timers(self, session_id: int) -> None:
        gathered = self._gathered
        gathered.timers[:] = [t for t in gathered.timers if t["session_id"] != session_id]
        if session_id > 0:
            gathered.cancelled.append(session_id)

    def schedule_timer(self, row: dict[str, Any]) -> None:
        self._gathered.timers.append(row)

    def queue(self, message: dict[str, Any], outbox: dict[str, Any] | None) -> int:
        self._gathered.queued.append((message, outbox))
        return -len(self._gathered.queued)

    def mark(self) -> Mark:
        return Mark(tuple(len(gathered) for gathered in self._gathered.lists()))

    def back_to(self, mark: Mark) -> None:
        """Forget what was gathered since ``mark`` (one person's start failed half-way)."""
        for gathered, size in zip(self._gathered.lists(), mark.sizes, strict=True):
            del gathered[size:]

    def flush(self) -> Callable[[Any], Any]:
        """Store what was gathered; returns what turns a stand-in session id into its row's."""
        gathered, self._gathered = self._gathered, _Gathered()
        c = self.connection
        # Conversations ended first: a new one may take the old one's place as "waiting".
        sessions.save_many(c, [(i, values) for i, values in gathered.saved if i > 0])
        ids = sessions.create_many(c, gathered.new_sessions)

        def real(session_id: Any) -> Any:
            if isinstance(session_id, int) and session_id < 0:
                return ids[-session_id - 1]
            return session_id

        sessions.save_many(c, [(real(i), values) for i, values in gathered.saved if i < 0])
        due.cancel_timers_many(c, gathered.cancelled)
        for message, _ in gathered.queued:  # the batch's own rows: filled in where they are
            message["session_id"] = real(message["session_id"])
        messages.queue_many(c, gathered.queued)
        for timer in gathered.timers:
            timer["session_id"] = real(timer["session_id"])
        due.schedule_timers(c, gathered.timers)
        return real
