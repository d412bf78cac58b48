"""Handing a person to a human, and the human's side of it.

Opening a handoff (the HUMAN keyword, a flow's ``handoff`` step, a reply still not understood,
a possible opt-out) also queues its posting to the team (due work ``handoff``, done by the
partners package after commit), so a handoff is never only a row nobody sees. While one is
open the person's texts go to it (due work ``handoff-in``), not to the flow.

The team's side: a reply goes to the person as a normal message (recorded, sent by the
dispatcher through their channel, at once: it answers them); resolving it closes it, and a
conversation still waiting asks its question again, so the flow goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from outreach.clock import Clock, utcnow
from outreach.content import Content
from outreach.conversations.sending import Queued, Sender
from outreach.errors import HandoffError
from outreach.store import contacts, due, handoffs, messages, sessions
from outreach.store.database import Database

POST = "handoff"  # due work: post a new handoff for the team
RELAY = "handoff-in"  # due work: a person's message for the team's thread
MAX_REPLY = 1600  # characters of a team reply (ten SMS segments)


def hand_over(
    connection: Connection,
    *,
    contact_id: int,
    reason: str,
    note: str,
    now: datetime,
    session_id: int | None = None,
    message_id: int | None = None,
    team: str | None = None,
    flow: str | None = None,
    step: str | None = None,
) -> int:
    """Open a handoff and queue it for the team; returns its id."""
    handoff_id = handoffs.open_handoff(
        connection,
        contact_id=contact_id,
        reason=reason,
        note=note,
        now=now,
        session_id=session_id,
        message_id=message_id,
        team=team,
        flow=flow,
        step=step,
    )
    # No contact on the row: an opt-out cancels a person's due work, never a handoff's post.
    due.schedule_work(connection, kind=POST, payload={"handoff": handoff_id}, now=now)
    return handoff_id


def relay(connection: Connection, handoff_id: int, message_id: int, now: datetime) -> None:
    """A person's message goes to the team's thread."""
    due.schedule_work(
        connection, kind=RELAY, payload={"handoff": handoff_id, "message": message_id}, now=now
    )


def missing(handoff_id: int) -> HandoffError:
    return HandoffError(f"there is no handoff {handoff_id}: see `outreach handoffs list`")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A handoff closed, and what the person was asked again (if a flow was waiting)."""

    handoff_id: int
    asked_again: Queued | None


class TeamSide:
    """What someone from the team does with a handoff: reply to the person, resolve it."""

    def __init__(self, db: Database, sender: Sender, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.sender = sender
        self.clock = clock

    def reply(self, handoff_id: int, text: str) -> Queued:
        """Send ``text`` to the person as a message of the conversation (not held for quiet
        hours: it answers them)."""
        text = text.strip()
        if not text:
            raise HandoffError("the reply is empty: write what the person should read")
        if len(text) > MAX_REPLY:
            raise HandoffError(f"the reply is too long: at most {MAX_REPLY} characters")
        with self.db.transaction() as tx:
            c = tx.connection()
            row = self._open(c, handoff_id)
            person = contacts.lock(c, row.contact_id)
            if person is None:
                raise HandoffError(f"handoff {handoff_id}: the person is no longer known")
            now = self.clock()
            handoffs.answered(c, handoff_id, now)
            return self.sender.queue(c, person, Content(text), now, session_id=row.session_id)

    def resolve(self, handoff_id: int, *, by: str) -> Resolved:
        """Close the handoff; a conversation still waiting for an answer asks its question
        again, so the flow goes on (a flow whose handoff step ended it stays ended)."""
        with self.db.transaction() as tx:
            c = tx.connection()
            row = self._open(c, handoff_id)
            now = self.clock()
            person = contacts.lock(c, row.contact_id)
            handoffs.close(c, handoff_id, by=by, now=now)
            waiting = sessions.waiting(c, row.contact_id)
            question = messages.last_question(c, waiting.id) if waiting is not None else None
            if person is None or waiting is None or question is None:
                return Resolved(handoff_id, None)
            again = self.sender.queue(
                c,
                person,
                Content.from_json(question.content),
                now,
                session_id=waiting.id,
                flow=question.flow,
                step=question.step,
            )
            return Resolved(handoff_id, again)

    def _open(self, c: Connection, handoff_id: int) -> Any:
        row = handoffs.get(c, handoff_id)
        if row is None:
            raise missing(handoff_id)
        if row.status not in handoffs.OPEN:
            raise HandoffError(f"handoff {handoff_id} is resolved already")
        return row
