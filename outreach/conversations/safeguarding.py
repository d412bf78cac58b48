"""A message that raises a safeguarding concern (``outreach.contacts.safeguarding``): the
person is sent the crisis contacts at once in their language (never held for quiet hours,
even if they opted out: it is care, not marketing), a handoff with the reason
``safeguarding`` opens (its thread goes to the safeguarding channel straight after commit,
where the lead can answer them; a second such message goes into the open one), and the audit
log records it. No flow gets the message: it is not an answer to a question."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.conversations.handoffs import hand_over, relay
from outreach.conversations.sending import Queued, Sender
from outreach.store import audit, handoffs, sessions
from outreach.store.contacts import Person

REASON = "safeguarding"
CRISIS = "{crisis}"  # the configured crisis contacts (settings), in the person's language


def raise_concern(
    tx: Session, sender: Sender, person: Person, concern: str, message_id: int, now: datetime
) -> Queued:
    """Answer with the crisis contacts, queue the alert, record it; returns the answer."""
    connection = tx.connection()
    content = sender.system(person.language, CRISIS)
    queued = sender.queue(connection, person, content, now, urgent=True, consent_exempt=True)
    already = handoffs.talking(connection, person.id, reason=REASON)
    if already is not None:
        relay(connection, already, message_id, now)
    else:
        waiting = sessions.waiting(connection, person.id)
        already = hand_over(
            connection,
            contact_id=person.id,
            reason=REASON,
            note=concern,
            now=now,
            message_id=message_id,
            session_id=waiting.id if waiting is not None else None,
        )
    audit.record(
        tx,
        "safeguarding-alert",
        actor="system",
        at=now,
        contact_id=person.id,
        detail={
            "concern": concern,
            "message_id": message_id,
            "answer_id": queued.message_id,
            "handoff_id": already,
        },
    )
    return queued
