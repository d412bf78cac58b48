"""Handoffs for teams without Slack (and for coordinators): list, show, reply, resolve, as the
``outreach handoffs`` command and the coordinators' page do them. What is done here is also
said in the handoff's Slack thread, if it has one, so nobody answers twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from outreach.conversations.handoffs import Resolved, TeamSide, missing
from outreach.conversations.sending import Queued
from outreach.partners.threads import REASONS, HandoffThreads
from outreach.store import handoffs, messages
from outreach.store.database import Database


@dataclass(frozen=True, slots=True)
class Line:
    """A message of the conversation, as the team reads it."""

    at: datetime
    direction: str  # in | out
    body: str


@dataclass(frozen=True, slots=True)
class HandoffView:
    """A handoff as the team sees it: who (first name and pseudonym), why, where."""

    id: int
    who: str
    reason: str
    why: str
    status: str
    flow: str | None
    step: str | None
    partner: str | None
    opened_at: datetime
    answered: bool
    in_slack: bool
    conversation: tuple[Line, ...] = ()


class HandoffDesk:
    """The team's handoffs, wherever they answer from."""

    def __init__(self, db: Database, team: TeamSide, threads: HandoffThreads) -> None:
        self.db = db
        self.team = team
        self.threads = threads

    def list(self, *, everything: bool = False) -> list[HandoffView]:
        """The open handoffs (or all), newest first."""
        with self.db.transaction() as tx:
            c = tx.connection()
            return [self._view(c, row) for row in handoffs.listed(c, everything=everything)]

    def show(self, handoff_id: int, *, recent: int = 20) -> HandoffView:
        """One handoff with its recent conversation."""
        with self.db.transaction() as tx:
            c = tx.connection()
            row = handoffs.get(c, handoff_id)
            if row is None:
                raise missing(handoff_id)
            lines = tuple(
                Line(m.created_at, m.direction, m.body or "…")
                for m in messages.recent(c, row.contact_id, recent)
            )
            return self._view(c, row, lines)

    def reply(self, handoff_id: int, text: str, *, by: str) -> Queued:
        """Text the person; the Slack thread (if any) says who answered and what."""
        queued = self.team.reply(handoff_id, text)
        self.threads.note(handoff_id, f"{by}: {text.strip()}")
        return queued

    def resolve(self, handoff_id: int, *, by: str) -> Resolved:
        resolved = self.team.resolve(handoff_id, by=by)
        self.threads.closed(handoff_id, by)
        return resolved

    def _view(self, c: Connection, r: Any, lines: tuple[Line, ...] = ()) -> HandoffView:
        return HandoffView(
            id=r.id,
            who=self.threads.who(c, r.contact_id).name,
            reason=r.reason,
            why=REASONS.get(r.reason, REASONS["unhandled"]),
            status=r.status,
            flow=r.flow,
            step=r.step,
            partner=r.partner,
            opened_at=r.created_at,
            answered=r.answered_at is not None,
            in_slack=r.thread_ts is not None,
            conversation=lines,
        )
